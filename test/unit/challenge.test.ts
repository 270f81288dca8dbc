import { describe, expect, it } from 'vitest';
import { parseChallenges } from '../../lib/transport/registry/challenge.js';

describe('parseChallenges', () => {
  it('reads a bearer challenge with quoted parameters', () => {
    expect(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:samalba/my-app:pull,push' } },
    ]);
  });
  it('reads basic and insufficient_scope challenges', () => {
    expect(parseChallenges('Basic realm="Registry Realm"')).toEqual([{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
    expect(parseChallenges('Bearer realm="https://x/token",service="s",error="insufficient_scope",scope="repository:a:pull"')[0]!.params.error).toBe(
      'insufficient_scope',
    );
  });
  it('reads two challenges and unquoted values, and never throws on junk', () => {
    expect(parseChallenges('Basic realm=r, Bearer realm="https://t",service=s')).toEqual([
      { scheme: 'basic', params: { realm: 'r' } },
      { scheme: 'bearer', params: { realm: 'https://t', service: 's' } },
    ]);
    expect(() => parseChallenges('Bearer realm="unterminated')).not.toThrow();
    expect(parseChallenges(undefined)).toEqual([]);
    expect(parseChallenges('')).toEqual([]);
  });
});
