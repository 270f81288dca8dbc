import { parseFlags, run, usage } from '../lib/cli/run.js';
import { processRecords, records } from '../lib/cli/records.js';
import { REGISTRY_FLAGS, REGISTRY_HELP, registryOptions } from '../lib/cli/registry-flags.js';
import { deleteManifestRecord, getManifestRecords, getRawManifest, putManifestRecord } from '../lib/image/manifests.js';
import { goJson, inspectImage } from '../lib/image/inspect.js';
import { parsePlatform } from '../lib/oci/platform.js';
import { parseRef } from '../lib/ref/index.js';

const HELP = `usage: img-manifest get [REF...] [--all] [--config] [--raw] [--inspect [--no-tags]] [--platform OS/ARCH[/VARIANT]]
       img-manifest put [DEST]
       img-manifest delete [REF...]

get     prints a record per image: ref, digest, mediaType, size, manifest (parsed) and raw (exact text).
        REFs come as arguments or as records on stdin.
        --all       for an index, print every child manifest (with platform and parent) before the index
        --config    add the image's parsed config as "config" (with --raw: print the config's exact bytes)
        --raw       print the manifest's exact bytes instead of a record (one REF)
        --inspect   print what skopeo inspect prints (Name, Digest, RepoTags, Created, …) for each REF
        --no-tags   with --inspect, do not list the repository's tags
        --platform  with --inspect or --config --raw, the image of an index to use (default: this machine's)
put     writes each stdin record's manifest to DEST (or the record's "dest"), byte for byte unless the
        record's "manifest" was edited. Blobs must be there already; children of an index go first.
delete  deletes each image from its registry, by digest, as skopeo delete does.

${REGISTRY_HELP}`;

run('img-manifest', HELP, async (argv) => {
  const flags = parseFlags(argv, {
    string: [...REGISTRY_FLAGS.string, 'platform'],
    // --no-tags is minimist's negation of "tags" (it never sets a "no-tags" key), so "tags" is the flag.
    boolean: [...REGISTRY_FLAGS.boolean, 'all', 'raw', 'config', 'inspect', 'tags'],
    default: { ...REGISTRY_FLAGS.default, tags: true },
  });
  const [sub, ...rest] = flags._.map(String);
  const topts = { registry: registryOptions(flags) };
  rest.forEach((a) => parseRef(a));
  if (sub === 'get') {
    const platform = flags.platform ? parsePlatform(String(flags.platform)) : undefined;
    if (flags.raw) {
      if (rest.length !== 1) throw usage('--raw takes exactly one REF');
      process.stdout.write(await getRawManifest(rest[0]!, topts, flags.config, platform));
      return 0;
    }
    if (flags.inspect) {
      const warn = (line: string) => process.stderr.write(`img-manifest: ${line}\n`);
      return processRecords('img-manifest get', records(rest, 'img-manifest get'), async (rec) => {
        const out = await inspectImage(String(rec.ref), topts, { noTags: flags.tags === false, warn, ...(platform ? { platform } : {}) });
        process.stdout.write(`${goJson(out)}\n`);
      });
    }
    return processRecords('img-manifest get', records(rest, 'img-manifest get'), async (rec, emit) => {
      for (const r of await getManifestRecords(rec, { all: flags.all, config: flags.config }, topts)) await emit(r);
    });
  }
  if (sub === 'put') {
    if (rest.length > 1) throw usage('put takes at most one DEST');
    if (process.stdin.isTTY) throw usage('put reads records on stdin (from img-manifest get)');
    return processRecords('img-manifest put', records([], 'img-manifest put'), async (rec, emit) => emit(await putManifestRecord(rec, rest[0], topts)));
  }
  if (sub === 'delete') {
    return processRecords('img-manifest delete', records(rest, 'img-manifest delete'), async (rec, emit) => emit(await deleteManifestRecord(rec, topts)));
  }
  throw usage(sub === undefined ? 'missing subcommand: get, put or delete' : `unknown subcommand "${sub}": expected get, put or delete`);
});
