import { parseFlags, usage } from '../run.js';
import type { StageIO } from '../stage-io.js';
import { COMMAND_FLAGS } from '../command-flags.js';
import { processRecords, records } from '../records.js';
import { requireString } from '../../oci/record.js';
import { formatRef, parseRef } from '../../ref/index.js';
import { destinationFor } from '../../ref/dest.js';

export const REF_HELP = `usage: img-ref [REF...] [--to PREFIX [--scoped] [--append-suffix S] | --dest REF]

Parses, validates and normalises image references (TRANSPORT:REFERENCE), from arguments or from
records on stdin, and prints one record per image with "ref" in canonical form.
  --to PREFIX          add "dest": where the image goes under PREFIX (docker://HOST/PATH, dir:PATH, oci:PATH)
  --scoped             keep the source registry and full repository path under PREFIX
  --append-suffix S    append S to each destination tag
  --dest REF           add "dest": REF itself, for every record (a copy of one image and its children)`;

/** refMain is img-ref's work (see REF_HELP); cmds/img-ref.ts runs it over stdin and stdout, img-copy and img-sync as a stage. */
export async function refMain(argv: string[], io: StageIO): Promise<number | void> {
  const flags = parseFlags(argv, COMMAND_FLAGS['img-ref']);
  if (flags.dest !== undefined && flags.to !== undefined) throw usage('--dest and --to exclude each other');
  const dest = flags.dest === undefined ? undefined : formatRef(parseRef(String(flags.dest)));
  if ((flags.scoped || flags['append-suffix']) && !flags.to) throw usage('--scoped and --append-suffix need --to PREFIX');
  // A bad prefix is a usage error, found before any record is read.
  if (flags.to !== undefined) {
    try {
      destinationFor('docker://probe', String(flags.to), { scoped: flags.scoped });
    } catch (e) {
      throw usage(`--to: ${(e as Error).message}`);
    }
  }
  const args = flags._.map(String);
  for (const a of args) parseRef(a);
  return processRecords(
    'img-ref',
    records(args, 'img-ref', io),
    async (rec, emit) => {
      const ref = formatRef(parseRef(requireString(rec, 'ref')));
      if (dest !== undefined) return emit({ ...rec, ref, dest });
      if (flags.to === undefined) return emit({ ...rec, ref });
      const base = typeof rec.base === 'string' ? { base: rec.base } : {};
      return emit({ ...rec, ref, dest: destinationFor(ref, flags.to, { scoped: flags.scoped, appendSuffix: flags['append-suffix'], ...base }) });
    },
    io.out,
  );
}
