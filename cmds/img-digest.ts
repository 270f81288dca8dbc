import { parseFlags, run, usage } from '../lib/cli/run.js';
import { COMMAND_FLAGS } from '../lib/cli/command-flags.js';
import { fileDigest } from '../lib/image/digest.js';
import { parseDigest, type Algorithm } from '../lib/oci/digest.js';

const HELP = `usage: img-digest [FILE|-]... [--check DIGEST] [--algorithm sha256|sha512]

Prints the digest of each manifest (or any blob) file, as skopeo manifest-digest does; "-" or no
FILE reads stdin. --check DIGEST exits 1, naming the file, unless the digest matches.`;

run('img-digest', HELP, async (argv) => {
  const flags = parseFlags(argv, COMMAND_FLAGS['img-digest']);
  const given = flags.algorithm === undefined ? undefined : String(flags.algorithm);
  if (given !== undefined && given !== 'sha256' && given !== 'sha512') throw usage(`invalid --algorithm ${JSON.stringify(given)}: sha256 or sha512`);
  const check = flags.check === undefined ? undefined : String(flags.check);
  if (check !== undefined) parseDigest(check, '--check digest');
  const checked = check === undefined ? undefined : check.slice(0, check.indexOf(':'));
  if (given !== undefined && checked !== undefined && given !== checked) throw usage(`--algorithm ${given} contradicts --check ${checked}:…`);
  const algorithm = (checked ?? given ?? 'sha256') as Algorithm;
  const files = flags._.length ? flags._.map(String) : ['-'];
  if (check !== undefined && files.length !== 1) throw usage('--check takes one FILE');
  let status = 0;
  for (const file of files) {
    let digest: string;
    try {
      digest = await fileDigest(file, algorithm);
    } catch (e) {
      process.stderr.write(`img-digest: ${(e as Error).message}\n`);
      status = 1;
      continue;
    }
    if (check !== undefined && digest !== check) {
      process.stderr.write(`img-digest: ${file === '-' ? 'stdin' : file} has digest ${digest}, not ${check}\n`);
      status = 1;
      continue;
    }
    process.stdout.write(`${digest}\n`);
  }
  return status;
});
