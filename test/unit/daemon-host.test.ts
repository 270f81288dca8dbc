import { afterEach, describe, expect, it } from 'vitest';
import { endpointOf } from '../../lib/transport/docker-daemon/host.js';
import { caught } from '../helpers/errors.js';

describe('docker-daemon: engine host (endpointOf)', () => {
  const saved = process.env.DOCKER_HOST;
  afterEach(() => {
    if (saved === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = saved;
  });

  it('--daemon-host, else $DOCKER_HOST, else unix:///var/run/docker.sock', () => {
    delete process.env.DOCKER_HOST;
    expect(endpointOf()).toEqual({ host: 'unix:///var/run/docker.sock', socketPath: '/var/run/docker.sock' });
    process.env.DOCKER_HOST = 'unix:///run/user/1000/docker.sock';
    expect(endpointOf()).toEqual({ host: 'unix:///run/user/1000/docker.sock', socketPath: '/run/user/1000/docker.sock' });
    expect(endpointOf({ host: 'unix:///tmp/d.sock' })).toEqual({ host: 'unix:///tmp/d.sock', socketPath: '/tmp/d.sock' });
  });

  it('tcp:// is TLS (port 2376 by default, --cert-dir and --tls-verify), http:// is plain (port 2375)', () => {
    expect(endpointOf({ host: 'tcp://engine.example' })).toEqual({
      host: 'tcp://engine.example',
      hostname: 'engine.example',
      port: 2376,
      tls: true,
      verify: true,
    });
    expect(endpointOf({ host: 'tcp://10.0.0.1:2400', certDir: '/certs', tlsVerify: false })).toEqual({
      host: 'tcp://10.0.0.1:2400',
      hostname: '10.0.0.1',
      port: 2400,
      tls: true,
      certDir: '/certs',
      verify: false,
    });
    expect(endpointOf({ host: 'http://[::1]:2375' })).toEqual({ host: 'http://[::1]:2375', hostname: '::1', port: 2375, tls: false });
    expect(endpointOf({ host: 'http://engine' })).toMatchObject({ port: 2375, tls: false });
  });

  it('refuses what it cannot reach, naming the host and where it came from', () => {
    for (const [host, says] of [
      ['/var/run/docker.sock', 'expected unix:///PATH'],
      ['unix://docker.sock', 'must be absolute'],
      ['tcp://h:0', 'out of range'],
      ['tcp://h:1/base', 'nothing else'],
      ['ssh://me@host', 'ssh:// engines are not supported'],
      ['npipe:////./pipe/docker_engine', 'not supported'],
      ['ftp://h', 'unknown scheme'],
    ] as const) {
      const e = caught(() => endpointOf({ host }));
      expect(e.code).toBe('USAGE');
      expect(e.message).toContain(JSON.stringify(host));
      expect(e.message).toContain(says);
    }
    process.env.DOCKER_HOST = 'tcp//oops';
    expect(caught(() => endpointOf()).message).toContain('(from $DOCKER_HOST)');
  });
});
