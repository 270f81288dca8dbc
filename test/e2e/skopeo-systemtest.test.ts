// skopeo's own system tests (systemtest/*.bats) with imgpipe as skopeo: test/skopeo-systemtest/run.sh
// takes them from Debian's skopeo source package and runs them under bats; README.md beside it
// lists what it changes. Every test passes but those of KNOWN, which must fail (so the list stays
// true): features imgpipe does not have yet.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exec, have, ROOT } from '../helpers/run.js';

const ready = ['bats', 'docker-registry', 'jq', 'openssl', 'htpasswd', 'gpg', 'podman', 'apt-get'].every(have);

/** The tests that fail for what imgpipe does not do yet (issue 14, item 2), with why. */
const KNOWN: Record<string, string> = {};

/** The tests skopeo's files skip themselves, with their reason. */
const SKIPPED_BY_SKOPEO = ['copy: bug 651'];

describe.skipIf(!ready)("skopeo's system tests", () => {
  it('pass with imgpipe as skopeo, but for the known gaps', async () => {
    const r = await exec(join(ROOT, 'test/skopeo-systemtest/run.sh'), []);
    const results = new Map<string, 'ok' | 'not ok' | 'skip'>();
    for (const m of r.stdout.matchAll(/^(ok|not ok) \d+ (.*?)(?: # skip.*)?$/gm)) results.set(m[2]!, / # skip/.test(m[0]) ? 'skip' : (m[1] as 'ok' | 'not ok'));
    const plan = /^1\.\.(\d+)$/m.exec(r.stdout);
    expect(plan, `${r.stdout}\n${r.stderr}`).not.toBeNull();
    expect(results.size).toBe(Number(plan![1]));
    const failed = [...results].filter(([name, s]) => s === 'not ok' && KNOWN[name] === undefined).map(([name]) => name);
    const skipped = [...results].filter(([name, s]) => s === 'skip' && !SKIPPED_BY_SKOPEO.includes(name)).map(([name]) => name);
    const fixed = Object.keys(KNOWN).filter((name) => results.get(name) !== 'not ok');
    expect({ failed, skipped, fixed }, r.stdout).toEqual({ failed: [], skipped: [], fixed: [] });
  }, 1_800_000);
});
