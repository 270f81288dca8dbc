import { parseFlags, usage } from '../run.js';
import type { StageIO } from '../stage-io.js';
import { COMMAND_FLAGS } from '../command-flags.js';
import { processRecords, records } from '../records.js';
import { requireString } from '../../oci/record.js';
import { formatRef, parseRef } from '../../ref/index.js';
import { destinationFor } from '../../ref/dest.js';
import { parseShard, shardOf, type Shard } from '../../ref/shard.js';
import type { ImageRecord } from '../../oci/record.js';
import { ImgError } from '../../errors.js';

export const REF_HELP = `usage: img-ref [REF...] [--to PREFIX [--scoped] [--append-suffix S] | --dest REF] [--shard K/N]

Parses, validates and normalises image references (TRANSPORT:REFERENCE), from arguments or from
records on stdin, and prints one record per image with "ref" in canonical form.
  --to PREFIX          add "dest": where the image goes under PREFIX (docker://HOST/PATH, dir:PATH, oci:PATH)
  --scoped             keep the source registry and full repository path under PREFIX
  --append-suffix S    append S to each destination tag
  --dest REF           add "dest": REF itself, for every record (a copy of one image and its children)
  --shard K/N          keep only the records whose destination repository is in shard K of N (0 <= K < N):
                       the first 4 bytes of sha256 of the repository, mod N (docs/scale.md)`;

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
  const shard = flags.shard === undefined ? undefined : parseShard(String(flags.shard));
  const args = flags._.map(String);
  for (const a of args) parseRef(a);
  if (shard !== undefined && args.length > 0 && dest === undefined && flags.to === undefined) throw usage('--shard with REF arguments needs --to or --dest');
  const input = records(args, 'img-ref', io);
  return processRecords(
    'img-ref',
    shard === undefined ? input : errorsOfShard(input, shard),
    async (rec, emit) => {
      const ref = formatRef(parseRef(requireString(rec, 'ref')));
      let out: ImageRecord;
      if (dest !== undefined) out = { ...rec, ref, dest };
      else if (flags.to === undefined) out = { ...rec, ref };
      else {
        const base = typeof rec.base === 'string' ? { base: rec.base } : {};
        out = { ...rec, ref, dest: destinationFor(ref, flags.to, { scoped: flags.scoped, appendSuffix: flags['append-suffix'], ...base }) };
      }
      if (shard !== undefined) {
        if (typeof out.dest !== 'string')
          throw new ImgError('RECORD_INVALID', `${ref} has no "dest" to shard by (--shard needs --to, --dest or records with "dest")`);
        if (shardOf(out.dest, shard.count) !== shard.index) return;
      }
      return emit(out);
    },
    io.out,
  );
}

/** errorsOfShard drops the error records whose `dest` is in another shard; one without a dest belongs to every shard. */
async function* errorsOfShard(input: AsyncIterable<ImageRecord>, shard: Shard): AsyncGenerator<ImageRecord> {
  for await (const rec of input) {
    if (rec.error !== undefined && typeof rec.dest === 'string') {
      let mine = true;
      try {
        mine = shardOf(rec.dest, shard.count) === shard.index;
      } catch {
        // a dest that is no reference stays with every shard, as one without
      }
      if (!mine) continue;
    }
    yield rec;
  }
}
