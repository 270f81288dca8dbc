import { parseFlags, usage } from '../run.js';
import type { StageIO } from '../stage-io.js';
import { COMMAND_FLAGS } from '../command-flags.js';
import { processRecords, processRecordsInOrder, records } from '../records.js';
import { overridden, parseAdditionalTags, parseJobs, parseMultiArch } from '../args.js';
import { REGISTRY_HELP } from '../registry-flags.js';
import { DAEMON_HELP, OCI_HELP, SIDED_FLAGS, transferOptions } from '../transfer-flags.js';
import { deleteManifestRecord, getManifestRecords, getRawManifest } from '../../image/manifests.js';
import { DIGEST_ALGORITHMS, inspectPrinter } from '../../image/inspect.js';
import { ManifestPutter } from '../../image/put.js';
import { putRecords } from '../put-records.js';
import { parsePlatform } from '../../oci/platform.js';
import { parseRef } from '../../ref/index.js';

export const MANIFEST_HELP = `usage: img-manifest get [REF...] [--all | --multi-arch M] [--platform OS/ARCH[/VARIANT]]... [--missing-at-dest]
                        [--config] [--raw] [--inspect [--no-tags] [--config] [--format TEMPLATE] [--manifest-digest ALG]]
       img-manifest put [DEST] [--format oci|v2s2] [--preserve-digests]
       img-manifest delete [REF...]

get     prints a record per image: ref, digest, mediaType, size, manifest (parsed) and raw (exact text).
        REFs come as arguments or as records on stdin.
        --all       for an index, print every child manifest (with platform and parent) before the index
        --multi-arch system|all|index-only   what to take from an index, as skopeo copy means it:
                    system: the one image for this machine (or --platform), as a record of its own
                    all: every child, then the index (= --all); index-only: the index alone (default)
        --platform  the image of an index to take (as system); repeated: those children, then the index
                    edited to list only them. With --inspect or --config --raw: the image to show
        --override-os OS, --override-arch ARCH, --override-variant V   skopeo's names for one --platform,
                    the rest from this machine (not with --platform; with --all they choose nothing)
        --missing-at-dest  check each record's "dest" first (a HEAD where the registry allows): when it
                    has the same manifest, print one record with status "exists", which img-blob-put
                    and img-manifest put pass by. --dest-creds, --dest-tls-verify… apply to that check
        --jobs N    records looked up at once (default 16); output stays in input order
        --config    add the image's parsed config as "config" (with --raw: print the config's exact bytes)
        --raw       print the manifest's exact bytes instead of a record (one REF)
        --inspect   print what skopeo inspect prints (Name, Digest, RepoTags, Created, …) for each REF
        --no-tags   with --inspect, do not list the repository's tags
        --manifest-digest ALGORITHM   with --inspect: Digest by sha256, sha384 or sha512 ("": sha256),
                    as skopeo inspect --manifest-digest (else by the algorithm of the config's digest)
        --inspect --config   print what skopeo inspect --config prints (the config as OCI's)
        -f, --format TEMPLATE   with --inspect: print through this Go template, as skopeo inspect --format
                    (e.g. '{{.Digest}}', '{{index .Labels "a.b"}}', '{{range .Env}}{{.}}\\n{{end}}'; "json": the JSON)
put     writes each stdin record's manifest to DEST (or the record's "dest"), byte for byte unless the
        record's "manifest" was edited. Blobs must be there already; children of an index go first.
        An oci-archive: or docker-archive: DEST is written whole (its blobs read from each record's
        "ref"; --src-X flags apply) when input ends; at /dev/stdout no records are printed.
        --format oci|v2s2   convert each manifest (and an index, with its children's new digests)
        --preserve-digests  fail on any record whose digest would change
        --additional-tag NAME:TAG   (repeatable) name the image written to a docker-archive: DEST so
                    too, after DEST's own name (manifest.json's RepoTags), as skopeo copy
                    --additional-tag; refused for any other DEST, and for a second image
        Layers img-blob-put stored with another compression (the record's "layerUpdates") are
        named as stored; zstd ones make a Docker schema 2 manifest OCI.
delete  deletes each image from its registry, by digest, as skopeo delete does; from an oci: layout its
        entry and the blobs no other image there uses

${REGISTRY_HELP}

${DAEMON_HELP}

${OCI_HELP}
get and put also take --src-X and --dest-X forms of those flags (get: for the source and the
--missing-at-dest check; put: for the destination, and the source an archive or a Docker engine
DEST reads blobs from), e.g. --src-daemon-host and --dest-daemon-host, --src-shared-blob-dir and
--dest-shared-blob-dir.`;

/** manifestMain is img-manifest's work (see MANIFEST_HELP); cmds/img-manifest.ts runs it over stdin and stdout, img-copy and img-sync as a stage. */
export async function manifestMain(argv: string[], io: StageIO): Promise<number | void> {
  const flags = parseFlags(argv, COMMAND_FLAGS['img-manifest']);
  const [sub, ...rest] = flags._.map(String);
  const sides = transferOptions(flags);
  const topts = sub === 'get' ? sides.src : sides.dest;
  for (const a of rest) parseRef(a);
  if (sub === 'get') {
    // --override-* (skopeo's names) pick as one --platform does, the rest from this machine
    const picked = overridden(flags);
    const platforms = [...([] as unknown[]).concat(flags.platform ?? []), ...(picked !== undefined ? [picked] : [])].map((p) => parsePlatform(String(p)));
    const platform = platforms[platforms.length - 1];
    const multiArch = parseMultiArch(flags['multi-arch'], flags.all === true);
    if (flags.format !== undefined && (flags.raw || !flags.inspect))
      throw usage(flags.raw ? '--raw does not take --format' : 'get takes --format only with --inspect (a Go template, as skopeo inspect --format)');
    // No flag is taken and then ignored: each goes with the output it changes.
    if (flags['no-tags'] && !flags.inspect) throw usage('--no-tags goes with --inspect');
    const digestAlgorithm = flags['manifest-digest'] === undefined ? undefined : String(flags['manifest-digest']) || 'sha256';
    if (digestAlgorithm !== undefined && (!flags.inspect || flags.raw || flags.config))
      throw usage('--manifest-digest goes with --inspect, without --raw or --config (it sets the Digest inspect prints)');
    if (digestAlgorithm !== undefined && !DIGEST_ALGORITHMS.includes(digestAlgorithm))
      throw usage(`--manifest-digest ${JSON.stringify(digestAlgorithm)}: digest algorithm is not available (${DIGEST_ALGORITHMS.join(', ')} are)`);
    if (flags.raw || flags.inspect) {
      const mode = flags.raw ? '--raw' : '--inspect';
      // --inspect --raw is skopeo inspect --raw: the manifest's bytes (with --config, the config's), as --raw alone.
      if (flags.raw && flags['no-tags']) throw usage('--no-tags does not go with --raw (no tags are listed)');
      const recordFlags = ['all', 'multi-arch', 'missing-at-dest', 'jobs'].filter((f) => flags[f] !== undefined);
      if (recordFlags.length > 0) throw usage(`--${recordFlags[0]} does not go with ${mode} (it is for records)`);
      if (platforms.length > 1) throw usage(`${mode} takes one --platform`);
      if (flags.raw && platforms.length > 0 && !flags.config)
        throw usage('--raw prints the manifest REF names, whatever the platform: --platform (or --override-*) goes with --raw only with --config');
    }
    // A Docker engine is written whole (as an archive is), so --missing-at-dest never looks in one.
    if (flags['dest-daemon-host'] !== undefined)
      throw usage('--dest-daemon-host is for put: get --missing-at-dest finds nothing in a Docker engine (an image is loaded into it whole)');
    const destFlags = SIDED_FLAGS.filter((f) => f.startsWith('dest-') && flags[f] !== undefined);
    if (destFlags.length > 0 && !flags['missing-at-dest']) throw usage(`--${destFlags[0]} is for the --missing-at-dest check`);
    if (flags.raw) {
      if (rest.length !== 1) throw usage('--raw takes exactly one REF');
      process.stdout.write(await getRawManifest(rest[0]!, topts, flags.config, platform));
      return 0;
    }
    if (flags.inspect) {
      const warn = (line: string) => process.stderr.write(`img-manifest: ${line}\n`);
      const show = inspectPrinter({ config: flags.config, format: flags.format });
      return processRecords(
        'img-manifest get',
        records(rest, 'img-manifest get', io),
        async (rec) => {
          process.stdout.write(
            await show(String(rec.ref), topts, {
              noTags: flags['no-tags'] === true,
              warn,
              ...(platform ? { platform } : {}),
              ...(digestAlgorithm ? { digestAlgorithm } : {}),
            }),
          );
        },
        io.out,
      );
    }
    const jobs = flags.jobs === undefined ? 16 : parseJobs(flags.jobs);
    return processRecordsInOrder(
      'img-manifest get',
      records(rest, 'img-manifest get', io),
      async (rec) => {
        const opts = { all: flags.all, config: flags.config, platforms, missingAtDest: flags['missing-at-dest'], ...(multiArch ? { multiArch } : {}) };
        return getManifestRecords(rec, opts, sides.src, sides.dest);
      },
      io.out,
      jobs,
    );
  }
  if (sub === 'put') {
    if (rest.length > 1) throw usage('put takes at most one DEST');
    if (io.interactive) throw usage('put reads records on stdin (from img-manifest get)');
    const format = flags.format === undefined ? undefined : String(flags.format);
    if (format !== undefined && format !== 'oci' && format !== 'v2s2') throw usage(`invalid --format ${JSON.stringify(format)}: oci or v2s2`);
    const putter = new ManifestPutter({
      dest: rest[0],
      destTopts: sides.dest,
      srcTopts: sides.src,
      preserveDigests: flags['preserve-digests'],
      ...(format ? { format } : {}),
      additionalTags: parseAdditionalTags(flags['additional-tag']),
    });
    return putRecords('img-manifest put', records([], 'img-manifest put', io), putter, io.out);
  }
  if (sub === 'delete') {
    return processRecords(
      'img-manifest delete',
      records(rest, 'img-manifest delete', io),
      async (rec, emit) => emit(await deleteManifestRecord(rec, topts)),
      io.out,
    );
  }
  throw usage(sub === undefined ? 'missing subcommand: get, put or delete' : `unknown subcommand "${sub}": expected get, put or delete`);
}
