import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { caught } from '../helpers/errors.js';
import { tempDir } from '../helpers/run.js';
import { dockerNamespaces, parseDockerRef } from '../../lib/ref/docker.js';
import { parseRef } from '../../lib/ref/index.js';
import { isValidRemapPrefix, matchesSignedIdentity, remapPrefixMatches, remapReference, type SignedIdentity } from '../../lib/policy/identity.js';
import { parsePolicy, type Requirement } from '../../lib/policy/parse.js';
import { imageDockerReference, policyScopes, requirementsFor } from '../../lib/policy/scope.js';
import { imageScopes, policyPath, resolveExplicitPath } from '../../lib/policy/load.js';
import { formatDockerRef } from '../../lib/ref/docker.js';

// Identity tables ported from containers/image signature/policy_reference_match_test.go.
const fullRHEL = 'registry.access.redhat.com/rhel7/rhel:7.2.3';
const untaggedRHEL = 'registry.access.redhat.com/rhel7/rhel';
const dg = '@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
const dgOther = `@sha256:${'a'.repeat(64)}`;

const exactTable: [string, string, boolean][] = [
  ['busybox:latest', 'busybox:latest', true],
  [fullRHEL, fullRHEL, true],
  [`busybox${dg}`, `busybox${dg}`, true],
  ['library/busybox:latest', 'busybox:latest', true],
  ['docker.io/library/busybox:latest', 'busybox:latest', true],
  [`library/busybox${dg}`, `busybox${dg}`, true],
  ['busybox:latest', 'busybox:notlatest', false],
  ['busybox:latest', 'notbusybox:latest', false],
  ['busybox:latest', 'hostname/library/busybox:notlatest', false],
  ['hostname/library/busybox:latest', 'busybox:notlatest', false],
  ['busybox:latest', fullRHEL, false],
  [`busybox${dg}`, `notbusybox${dg}`, false],
  ['busybox:latest', `busybox${dg}`, false],
  [`busybox${dg}`, `busybox${dgOther}`, false],
  ['busybox', 'busybox:latest', false],
  ['busybox', `busybox${dg}`, false],
  ['busybox', 'busybox', false],
  [`busybox:latest${dg}`, `busybox:latest${dg}`, true],
  [`busybox:latest${dg}`, `busybox:latest${dgOther}`, false],
  [`busybox:latest${dg}`, `busybox:notlatest${dg}`, false],
  [`busybox:latest${dg}`, `busybox${dg}`, false],
  [`busybox:latest${dg}`, 'busybox:latest', false],
  ['UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES', 'busybox:latest', false],
  ['', 'UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES', false],
  ['INVALID', 'INVALID', false],
];

const repositoryTable: [string, string, boolean][] = [
  ['busybox:latest', 'busybox:latest', true],
  [fullRHEL, fullRHEL, true],
  [`busybox${dg}`, `busybox${dg}`, true],
  ['library/busybox:latest', 'busybox:latest', true],
  ['docker.io/library/busybox:latest', 'busybox:latest', true],
  [`library/busybox${dg}`, `busybox${dg}`, true],
  ['busybox:latest', 'busybox:notlatest', true],
  [`${fullRHEL}tagsuffix`, fullRHEL, true],
  ['library/busybox:latest', 'busybox:notlatest', true],
  ['busybox:latest', 'library/busybox:notlatest', true],
  ['docker.io/library/busybox:notlatest', 'busybox:latest', true],
  ['busybox:notlatest', 'docker.io/library/busybox:latest', true],
  ['busybox:latest', `busybox${dg}`, true],
  [`busybox${dg}`, `busybox${dgOther}`, true],
  ['busybox', 'busybox:notlatest', true],
  [fullRHEL, untaggedRHEL, true],
  ['busybox', `busybox${dg}`, true],
  ['library/busybox', 'busybox', true],
  ['docker.io/library/busybox', 'busybox', true],
  ['busybox:latest', 'notbusybox:latest', false],
  ['hostname/library/busybox:latest', 'busybox:notlatest', false],
  ['busybox:latest', fullRHEL, false],
  [`busybox${dg}`, `notbusybox${dg}`, false],
  [`busybox:latest${dg}`, `busybox:latest${dg}`, true],
  [`busybox:latest${dg}`, `busybox:latest${dgOther}`, true],
  [`busybox:latest${dg}`, `busybox:notlatest${dg}`, true],
  [`busybox:latest${dg}`, `busybox${dg}`, true],
  [`busybox:latest${dg}`, 'busybox:latest', true],
  ['UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES', 'busybox:latest', false],
  ['', 'UPPERCASE_IS_INVALID_IN_DOCKER_REFERENCES', false],
  ['INVALID', 'INVALID', false],
];

const repoDigestOrExactTable: [string, string, boolean][] = [
  ['busybox:latest', 'busybox:notlatest', false],
  [`${fullRHEL}tagsuffix`, fullRHEL, false],
  ['library/busybox:latest', 'busybox:notlatest', false],
  ['busybox:latest', 'library/busybox:notlatest', false],
  ['docker.io/library/busybox:notlatest', 'busybox:latest', false],
  ['busybox:notlatest', 'docker.io/library/busybox:latest', false],
  ['busybox', 'busybox:latest', false],
  ['busybox:latest', 'busybox', false],
  ['busybox', `busybox${dg}`, false],
  [`busybox${dg}`, 'busybox', false],
  [fullRHEL, untaggedRHEL, false],
  ['busybox', 'busybox', false],
  ['busybox:latest', `busybox${dg}`, false],
  [`busybox${dg}`, 'busybox:latest', true],
  [`busybox${dg}`, `busybox${dgOther}`, true],
  [`busybox:latest${dg}`, 'busybox:latest', false],
  [`busybox:latest${dg}`, 'busybox:notlatest', false],
  ['busybox:latest', `busybox:latest${dg}`, false],
  [`busybox:latest${dg}`, `busybox:latest${dgOther}`, false],
  [`busybox:latest${dg}`, `busybox:notlatest${dgOther}`, false],
];

/** image parses an image reference as the test tables do; undefined when invalid (such rows are skipped). */
function image(s: string) {
  try {
    return parseDockerRef(s);
  } catch {
    return undefined;
  }
}

function checkImageSide(identity: SignedIdentity, table: [string, string, boolean][], symmetric: boolean, filter?: boolean) {
  for (const [a, b, want] of table) {
    if (filter !== undefined && want !== filter) continue;
    const pairs: [string, string][] = symmetric
      ? [
          [a, b],
          [b, a],
        ]
      : [[a, b]];
    for (const [img, sig] of pairs) {
      const intended = image(img);
      if (!intended) continue;
      expect(matchesSignedIdentity(identity, intended, sig), `${identity.type}: ${img} vs. ${sig}`).toBe(want);
    }
  }
}

describe('signedIdentity (policy_reference_match.go tables)', () => {
  it('matchExact', () => {
    checkImageSide({ type: 'matchExact' }, exactTable, true);
    expect(matchesSignedIdentity({ type: 'matchExact' }, undefined, '')).toBe(false);
  });
  it('matchRepository', () => {
    checkImageSide({ type: 'matchRepository' }, repositoryTable, true);
    expect(matchesSignedIdentity({ type: 'matchRepository' }, undefined, 'busybox:latest')).toBe(false);
  });
  it('matchRepoDigestOrExact accepts what matchExact accepts, rejects what matchRepository rejects, and its own cases', () => {
    const id: SignedIdentity = { type: 'matchRepoDigestOrExact' };
    checkImageSide(id, exactTable, true, true);
    checkImageSide(id, repositoryTable, true, false);
    checkImageSide(id, repoDigestOrExactTable, false);
  });
  it('exactReference and exactRepository ignore the image', () => {
    for (const [a, b, want] of exactTable) {
      for (const [x, y] of [
        [a, b],
        [b, a],
      ] as const) {
        expect(matchesSignedIdentity({ type: 'exactReference', dockerReference: x }, undefined, y), `${x} vs. ${y}`).toBe(want);
      }
    }
    for (const [a, b, want] of repositoryTable) {
      for (const [x, y] of [
        [a, b],
        [b, a],
      ] as const) {
        expect(matchesSignedIdentity({ type: 'exactRepository', dockerRepository: x }, image('busybox:1'), y), `${x} vs. ${y}`).toBe(want);
      }
    }
  });
  it('remapIdentity: prefix matching', () => {
    const cases: [string, string, boolean][] = [
      ['docker.io/image', 'docker.io', true],
      ['docker.io/image', 'example.com', false],
      ['example.com:5000/image', 'example.com:5000', true],
      ['example.com:50000/image', 'example.com:5000', false],
      ['example.com:5000/image', 'example.com', false],
      ['example.com/foo/bar:baz', 'example.com', true],
      ['docker.io/ns/image', 'docker.io/library', false],
      ['docker.io/libraryy/image', 'docker.io/library', false],
      ['docker.io/library/busybox', 'docker.io/library', true],
      ['example.com', 'example.com/library/busybox', false],
      ['example.com:5000/ns/image', 'example.com/ns', false],
      ['docker.io/library/busybox', 'docker.io/library/busybox', true],
      ['docker.io/library/busybox2', 'docker.io/library/busybox', false],
      [`example.com/ns/image:tag${dg}`, 'example.com/ns/image', true],
    ];
    for (const [ref, prefix, want] of cases) {
      const r = image(ref)!;
      expect(remapPrefixMatches(`${r.domain}/${r.path}`, prefix), `${ref} vs. ${prefix}`).toBe(want);
    }
  });
  it('remapIdentity: rewriting', () => {
    const cases: [string, string, string, string | undefined][] = [
      ['mirror.example', 'vendor.example', 'mirror.example/ns/image:tag', 'vendor.example/ns/image:tag'],
      ['mirror.example', 'vendor.example', 'different.com/ns/image:tag', 'different.com/ns/image:tag'],
      ['mirror.example/ns', 'vendor.example/vendor-ns', 'mirror.example/different-ns/image:tag', 'mirror.example/different-ns/image:tag'],
      ['docker.io', 'not-docker-signed.example/ns', 'busybox', 'not-docker-signed.example/ns/library/busybox'],
      ['example.com/ns/mirror', 'example.com/ns/vendor', 'example.com/ns/mirror:tag', 'example.com/ns/vendor:tag'],
      ['mirror.example', 'vendor.example', 'prefixmirror.example/ns/image:tag', 'prefixmirror.example/ns/image:tag'],
      ['docker.io/library', 'not-docker-signed.example/ns', 'busybox', 'not-docker-signed.example/ns/busybox'],
      ['docker.io/library/busybox', 'not-docker-signed.example/ns/notbusybox', 'busybox', 'not-docker-signed.example/ns/notbusybox'],
      ['mirror.example', 'vendor.example', `mirror.example/image:tag${dg}`, `vendor.example/image:tag${dg}`],
      ['mirror.example/ns/image', 'vendor.example:5000', 'mirror.example/ns/image:tag', undefined],
      ['mirror.example/ns/image', 'vendor.example:5000', `mirror.example/ns/image${dg}`, undefined],
      ['mirror.example/ns/image', 'notlocalhost', 'mirror.example/ns/image:tag', undefined],
    ];
    for (const [prefix, signedPrefix, ref, want] of cases) {
      const out = remapReference(image(ref)!, prefix, signedPrefix);
      expect(out && formatDockerRef(out), `${prefix} → ${signedPrefix}: ${ref}`).toBe(want);
    }
  });
  it('remapIdentity: matching', () => {
    const cases: [string, string, string, string, boolean][] = [
      ['does-not-match.com', 'does-not-match.rewritten', 'busybox:latest', 'busybox:latest', true],
      ['does-not-match.com', 'does-not-match.rewritten', 'busybox:latest', 'notbusybox:latest', false],
      ['mirror.example', 'public.com', 'mirror.example/busybox:1', 'public.com/busybox:1', true],
      ['mirror.example', 'public.com', 'mirror.example/busybox:1', 'public.com/busybox:not1', false],
      ['mirror.example', 'docker.io/library', 'mirror.example/busybox:latest', 'busybox:latest', true],
      ['mirror.example', 'docker.io/library', 'mirror.example/alpine:latest', 'busybox:latest', false],
      ['docker.io/library', 'original.com', 'copied:latest', 'original.com/copied:latest', true],
      ['docker.io/library', 'original.com', 'copied:latest', 'original.com/ns/copied:latest', false],
    ];
    for (const [prefix, signedPrefix, img, sig, want] of cases) {
      expect(matchesSignedIdentity({ type: 'remapIdentity', prefix, signedPrefix }, image(img), sig), `${img} vs. ${sig}`).toBe(want);
    }
    // And like matchRepoDigestOrExact when nothing is rewritten.
    checkImageSide({ type: 'remapIdentity', prefix: 'never.example', signedPrefix: 'never.example' }, repoDigestOrExactTable, false);
  });
  it('remapIdentity prefixes are validated as containers/image does', () => {
    // TestValidateIdentityRemappingPrefix (shortname and ns/shortname are accepted there too, and never match).
    for (const ok of [
      'localhost',
      'example.com',
      'example.com:80',
      'example.com/repo',
      'example.com/ns1/ns2/ns3/repo.with.dots-dashes_underscores',
      'example.com:80/ns1/ns2/ns3/repo.with.dots-dashes_underscores',
      'shortname',
      'ns/shortname',
      '[::1]:5000/ns',
    ]) {
      expect(isValidRemapPrefix(ok), ok).toBe(true);
    }
    for (const bad of [
      '',
      'repo_with_underscores',
      'example.com/',
      'example.com/UPPERCASEISINVALID',
      'example.com/repo/',
      'example.com/repo:tag',
      `example.com/repo${dg}`,
      `example.com/repo:tag${dg}`,
      'example.com//ns',
      'a b',
    ]) {
      expect(isValidRemapPrefix(bad), bad).toBe(false);
    }
  });
});

const policyOf = (doc: unknown) => parsePolicy(JSON.stringify(doc), 'p.json');
const errorOf = (text: string) => caught(() => parsePolicy(text, 'p.json')).message;
const KEY = Buffer.from('key bytes').toString('base64');

describe('policy.json parsing', () => {
  it('reads every requirement and identity form', () => {
    const p = policyOf({
      default: [{ type: 'reject' }],
      transports: {
        docker: {
          'example.com/app': [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/k.gpg' }],
          'example.com': [{ type: 'signedBy', keyType: 'GPGKeys', keyPaths: ['/a', '/b'], signedIdentity: { type: 'matchRepository' } }],
          '*.example.org': [
            { type: 'signedBy', keyType: 'GPGKeys', keyData: KEY, signedIdentity: { type: 'exactReference', dockerReference: 'example.org/a:1' } },
          ],
          'x.io': [{ type: 'sigstoreSigned', keyPath: '/c.pub', signedIdentity: { type: 'remapIdentity', prefix: 'x.io', signedPrefix: 'y.io/ns' } }],
          'y.io': [{ type: 'sigstoreSigned', keyData: KEY, signedIdentity: { type: 'exactRepository', dockerRepository: 'y.io/a' } }],
          '': [{ type: 'insecureAcceptAnything' }],
        },
        dir: { '/srv/images': [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/k', signedIdentity: { type: 'matchExact' } }] },
        'docker-daemon': { '': [{ type: 'insecureAcceptAnything' }] },
      },
    });
    expect(p.default).toEqual([{ type: 'reject' }]);
    const d = p.transports.get('docker')!;
    expect(d.get('example.com/app')).toEqual([{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/k.gpg', signedIdentity: { type: 'matchRepoDigestOrExact' } }]);
    expect(d.get('example.com')![0]).toMatchObject({ keyPaths: ['/a', '/b'], signedIdentity: { type: 'matchRepository' } });
    const withData = d.get('*.example.org')![0] as Extract<Requirement, { type: 'signedBy' }>;
    expect(Buffer.from(withData.keyData!).toString()).toBe('key bytes');
    expect(d.get('x.io')![0]).toMatchObject({
      type: 'sigstoreSigned',
      keyPath: '/c.pub',
      signedIdentity: { type: 'remapIdentity', prefix: 'x.io', signedPrefix: 'y.io/ns' },
    });
    expect(p.transports.get('dir')!.get('/srv/images')![0]).toMatchObject({ signedIdentity: { type: 'matchExact' } });
  });

  it('reads the Debian default policy and a fulcio/rekor one', () => {
    policyOf({ default: [{ type: 'insecureAcceptAnything' }], transports: { 'docker-daemon': { '': [{ type: 'insecureAcceptAnything' }] } } });
    const p = policyOf({
      default: [{ type: 'sigstoreSigned', fulcio: { caData: KEY, oidcIssuer: 'https://o', subjectEmail: 'a@b' }, rekorPublicKeyPath: '/r.pub' }],
    });
    expect(p.default[0]).toMatchObject({ fulcio: { oidcIssuer: 'https://o', subjectEmail: 'a@b' }, rekorPublicKeyPath: '/r.pub' });
  });

  it('names unknown keys, transports and types, and where they are', () => {
    expect(errorOf('{"default":[{"type":"reject"}],"transprots":{}}')).toBe('invalid policy in p.json: unknown key "transprots" in the policy');
    expect(errorOf('{"default":[{"type":"reject","keyPath":"/x"}]}')).toBe('invalid policy in p.json: unknown key "keyPath" in default[0] (reject)');
    expect(errorOf('{"default":[{"type":"reject"}],"transports":{"docker":{"a.io":[{"type":"signedBy","keyType":"GPGKeys","keyPth":"/k"}]}}}')).toBe(
      'invalid policy in p.json: unknown key "keyPth" in transports.docker["a.io"][0] (signedBy)',
    );
    expect(errorOf('{"default":[{"type":"reject"}],"transports":{"dokcer":{}}}')).toMatch(/unknown transport "dokcer" in transports/);
    expect(errorOf('{"default":[{"type":"acceptAll"}]}')).toMatch(/unknown policy requirement type "acceptAll" in default\[0\]/);
    expect(errorOf('{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k","signedIdentity":{"type":"matchAll"}}]}')).toMatch(
      /unknown policy reference match type "matchAll"/,
    );
    expect(errorOf('{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k","signedIdentity":{"type":"matchExact","x":1}}]}')).toMatch(
      /unknown key "x" in signedIdentity of default\[0\] \(signedBy\) \(matchExact\)/,
    );
  });

  it('rejects duplicate keys at any depth', () => {
    expect(errorOf('{"default":[{"type":"reject"}],"default":[{"type":"insecureAcceptAnything"}]}')).toMatch(
      /^invalid policy in p.json: duplicate key "default" at offset \d+$/,
    );
    expect(errorOf('{"default":[{"type":"reject"}],"transports":{"docker":{"a.io":[{"type":"reject"}],"a.io":[{"type":"insecureAcceptAnything"}]}}}')).toMatch(
      /duplicate key "a.io"/,
    );
    expect(errorOf('{"default":[{"type":"signedBy","type":"reject","keyType":"GPGKeys","keyPath":"/k"}]}')).toMatch(/duplicate key "type"/);
  });

  it('checks requirement contents as containers/image does', () => {
    const bad: [unknown, RegExp][] = [
      [{}, /default policy is missing/],
      [{ default: [] }, /default: the list of requirements must not be empty/],
      [{ default: {} }, /default must be a list of requirements/],
      [{ default: [{ type: 'signedBy', keyPath: '/k' }] }, /invalid keyType null/],
      [{ default: [{ type: 'signedBy', keyType: 'PGP', keyPath: '/k' }] }, /invalid keyType "PGP"/],
      [{ default: [{ type: 'signedBy', keyType: 'GPGKeys' }] }, /exactly one of keyPath, keyPaths, keyData must be given in default\[0\] \(signedBy\)$/],
      [{ default: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/k', keyData: KEY }] }, /not keyPath and keyData/],
      [{ default: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '' }] }, /keyPath .* must not be empty/],
      [{ default: [{ type: 'signedBy', keyType: 'GPGKeys', keyPaths: [] }] }, /keyPaths .* contains no entries/],
      [{ default: [{ type: 'signedBy', keyType: 'GPGKeys', keyData: 'not base64!' }] }, /keyData .* must be standard base64/],
      [{ default: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: 7 }] }, /keyPath in default\[0\] \(signedBy\) must be a string/],
      [
        { default: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/k', signedIdentity: { type: 'exactReference', dockerReference: 'busybox' } }] },
        /has neither a tag nor a digest/,
      ],
      [
        { default: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/k', signedIdentity: { type: 'exactReference', dockerReference: 'Bad' } }] },
        /invalid dockerReference/,
      ],
      [{ default: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/k', signedIdentity: { type: 'exactRepository' } }] }, /dockerRepository missing/],
      [
        {
          default: [
            {
              type: 'signedBy',
              keyType: 'GPGKeys',
              keyPath: '/k',
              signedIdentity: { type: 'remapIdentity', prefix: 'repo_with_underscores', signedPrefix: 'x.io' },
            },
          ],
        },
        /prefix "repo_with_underscores" .* is not valid/,
      ],
      [
        { default: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/k', signedIdentity: { type: 'remapIdentity', prefix: 'x.io' } }] },
        /signedPrefix missing/,
      ],
      [{ default: [{ type: 'signedBaseLayer' }] }, /baseLayerIdentity missing/],
      [{ default: [{ type: 'sigstoreSigned' }] }, /exactly one of keyPath, keyPaths, keyData, keyDatas, fulcio, pki must be given/],
      [{ default: [{ type: 'sigstoreSigned', keyPath: '/a', rekorPublicKeyPath: '/r', rekorPublicKeyData: KEY }] }, /at most one of rekorPublicKeyPath/],
      [{ default: [{ type: 'sigstoreSigned', fulcio: { caPath: '/c', oidcIssuer: 'i', subjectEmail: 'e' } }] }, /must be given with fulcio/],
      [{ default: [{ type: 'sigstoreSigned', fulcio: { oidcIssuer: 'i', subjectEmail: 'e' }, rekorPublicKeyPath: '/r' }] }, /exactly one of caPath, caData/],
      [{ default: [{ type: 'sigstoreSigned', fulcio: { caPath: '/c', subjectEmail: 'e' }, rekorPublicKeyPath: '/r' }] }, /oidcIssuer not given/],
      [{ default: [{ type: 'sigstoreSigned', pki: { caRootsPath: '/r' } }] }, /at least one of subjectEmail, subjectHostname/],
      [{ default: [{ type: 'sigstoreSigned', pki: { caRootsPath: '/r', subjectEmail: 'e' }, rekorPublicKeyPath: '/r' }] }, /cannot be used with pki/],
    ];
    for (const [doc, re] of bad) expect(caught(() => policyOf(doc)).message, JSON.stringify(doc)).toMatch(re);
    expect(caught(() => policyOf({})).code).toBe('USAGE');
  });

  it('validates scopes per transport', () => {
    const scoped = (t: string, scope: string) => ({ default: [{ type: 'reject' }], transports: { [t]: { [scope]: [{ type: 'reject' }] } } });
    for (const [t, scope, re] of [
      ['dir', 'relative/path', /must be an absolute path/],
      ['dir', '/', /use the default scope ""/],
      ['oci', '/a//b', /not a canonical path/],
      ['oci', '/a/./b', /not a canonical path/],
      ['oci-archive', '/a/../b', /not a canonical path/],
      ['dir', '/a/b/', /not a canonical path/],
      ['docker-archive', '/a', /takes no scopes except the default ""/],
      ['docker-daemon', `sha256:${'a'.repeat(64)}`, /algo:digest/],
      ['sif', 'app.sif', /must be an absolute path/],
      ['sif', '/', /use the default scope ""/],
      ['sif', '/a/../b.sif', /not a canonical path/],
    ] as const) {
      expect(caught(() => policyOf(scoped(t, scope))).message, `${t} ${scope}`).toMatch(re);
    }
    for (const [t, scope] of [
      ['dir', '/a/b'],
      ['oci', '/a'],
      ['docker', 'anything.goes/here'],
      ['docker-archive', ''],
      ['sif', '/srv/app.sif'],
    ])
      policyOf(scoped(t!, scope!));
  });
});

describe('policy scopes', () => {
  it('docker: repository, namespaces, host, wildcard domains', () => {
    expect(dockerNamespaces(parseDockerRef('registry.example.com:5000/a/b/c:1'))).toEqual([
      'registry.example.com:5000/a/b/c',
      'registry.example.com:5000/a/b',
      'registry.example.com:5000/a',
      'registry.example.com:5000',
      '*.example.com',
      '*.com',
    ]);
    expect(policyScopes(parseRef('docker://busybox'))).toEqual({
      section: 'docker',
      identity: 'docker.io/library/busybox:latest',
      namespaces: ['docker.io/library/busybox', 'docker.io/library', 'docker.io', '*.io'],
    });
    expect(policyScopes(parseRef(`docker://example.com/a:1${dg}`)).identity).toBe(`example.com/a${dg}`);
    expect(dockerNamespaces(parseDockerRef('localhost/a'))).toEqual(['localhost/a', 'localhost']);
  });

  it('paths: dir from the parent up, oci from the layout itself up', () => {
    expect(policyScopes(parseRef('dir:/srv/images/app'))).toEqual({ section: 'dir', identity: '/srv/images/app', namespaces: ['/srv/images', '/srv'] });
    expect(policyScopes(parseRef('oci:/srv/layout:app'))).toEqual({ section: 'oci', identity: '/srv/layout', namespaces: ['/srv/layout', '/srv'] });
    expect(policyScopes(parseRef('docker-archive:/x.tar:a:1'))).toEqual({ section: 'docker-archive', identity: '', namespaces: [] });
    // sif: as containers/image's sifReference: the file, then its directories up (never "/").
    expect(policyScopes(parseRef('sif:/srv/sif/app.sif'))).toEqual({ section: 'sif', identity: '/srv/sif/app.sif', namespaces: ['/srv/sif', '/srv'] });
  });

  it('picks the most specific section, then the transport default, then the default', () => {
    const p = policyOf({
      default: [{ type: 'reject' }],
      transports: {
        docker: {
          'example.com/team/app:v1': [{ type: 'insecureAcceptAnything' }],
          'example.com/team': [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/team' }],
          '*.example.com': [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/wild' }],
          '': [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/docker' }],
        },
        dir: { '/srv': [{ type: 'insecureAcceptAnything' }] },
      },
    });
    const section = (r: string) => requirementsFor(p, policyScopes(parseRef(r))).section;
    expect(section('docker://example.com/team/app:v1')).toBe('transports.docker["example.com/team/app:v1"]');
    expect(section('docker://example.com/team/app:v2')).toBe('transports.docker["example.com/team"]');
    expect(section('docker://example.com/other/app:v2')).toBe('transports.docker[""]');
    expect(section('docker://reg.example.com/x')).toBe('transports.docker["*.example.com"]');
    expect(section('dir:/srv/x/y')).toBe('transports.dir["/srv"]');
    expect(section('dir:/srv')).toBe('transports.dir["/srv"]'); // its own scope
    expect(section('dir:/srvx/y')).toBe('default'); // namespaces end at a "/"
    expect(section('oci:/srv:a')).toBe('default'); // no oci section at all
    expect(requirementsFor(p, policyScopes(parseRef('dir:/elsewhere'))).requirements).toEqual([{ type: 'reject' }]);
  });

  it('knows which images have a docker reference to match signatures against', () => {
    expect(imageDockerReference(parseRef('docker://busybox'))).toEqual(parseDockerRef('busybox:latest'));
    expect(imageDockerReference(parseRef('dir:/x'))).toBeUndefined();
    expect(imageDockerReference(parseRef('oci:/x:a'))).toBeUndefined();
  });
});

describe('policy lookup and paths', () => {
  const dir = tempDir('imgpipe-policy-');
  it('uses --policy, then ~/.config/containers/policy.json, then the system file', async () => {
    const home = join(dir, 'home');
    const system = join(dir, 'etc-policy.json');
    expect(await policyPath('/explicit.json', home, system)).toBe('/explicit.json');
    expect((await policyPath(undefined, home, system).catch((e) => e)).message).toBe(
      `no policy.json file found at any of the following: ${JSON.stringify(join(home, '.config/containers/policy.json'))}, ${JSON.stringify(system)}`,
    );
    writeFileSync(system, '{}');
    expect(await policyPath(undefined, home, system)).toBe(system);
    mkdirSync(join(home, '.config/containers'), { recursive: true });
    writeFileSync(join(home, '.config/containers/policy.json'), '{}');
    expect(await policyPath(undefined, home, system)).toBe(join(home, '.config/containers/policy.json'));
  });
  it('resolves symlinks and missing last components as containers/image does', async () => {
    mkdirSync(join(dir, 'real/images'), { recursive: true });
    symlinkSync(join(dir, 'real'), join(dir, 'link'));
    expect(await resolveExplicitPath(join(dir, 'link/images'))).toBe(join(dir, 'real/images'));
    expect(await resolveExplicitPath(join(dir, 'link/images/new'))).toBe(join(dir, 'real/images/new'));
    expect((await imageScopes(parseRef(`dir:${join(dir, 'link/images/app')}`))).namespaces[0]).toBe(join(dir, 'real/images'));
  });
});
