import { parseFlags, run, usage } from '../lib/cli/run.js';
import { processRecords, records } from '../lib/cli/records.js';
import { getManifestRecords, getRawManifest, putManifestRecord } from '../lib/image/manifests.js';
import { parseRef } from '../lib/ref/index.js';

const HELP = `usage: img-manifest get [REF...] [--all] [--raw]
       img-manifest put [DEST]

get  prints a record per image: ref, digest, mediaType, size, manifest (parsed) and raw (exact text).
     REFs come as arguments or as records on stdin.
     --all   for an index, print every child manifest (with platform and parent) before the index
     --raw   print the manifest's exact bytes instead of a record (one REF)
put  writes each stdin record's manifest to DEST (or the record's "dest"), byte for byte unless the
     record's "manifest" was edited. Blobs must be there already; children of an index go first.`;

run('img-manifest', HELP, async (argv) => {
  const flags = parseFlags(argv, { boolean: ['all', 'raw'] });
  const [sub, ...rest] = flags._.map(String);
  if (sub === 'get') {
    rest.forEach((a) => parseRef(a));
    if (flags.raw) {
      if (rest.length !== 1) throw usage('--raw takes exactly one REF');
      process.stdout.write(await getRawManifest(rest[0]!));
      return 0;
    }
    return processRecords('img-manifest get', records(rest, 'img-manifest get'), async (rec, emit) => {
      for (const r of await getManifestRecords(rec, { all: flags.all })) await emit(r);
    });
  }
  if (sub === 'put') {
    if (rest.length > 1) throw usage('put takes at most one DEST');
    if (rest[0] !== undefined) parseRef(rest[0]);
    if (process.stdin.isTTY) throw usage('put reads records on stdin (from img-manifest get)');
    return processRecords('img-manifest put', records([], 'img-manifest put'), async (rec, emit) => emit(await putManifestRecord(rec, rest[0])));
  }
  throw usage(sub === undefined ? 'missing subcommand: get or put' : `unknown subcommand "${sub}": expected get or put`);
});
