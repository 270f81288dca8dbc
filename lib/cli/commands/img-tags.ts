import { parseFlags, usage } from '../run.js';
import type { StageIO } from '../stage-io.js';
import { COMMAND_FLAGS } from '../command-flags.js';
import { processRecords, records } from '../records.js';
import { requireString } from '../../oci/record.js';
import { parseSize } from '../args.js';
import { REGISTRY_HELP, registryOptions } from '../registry-flags.js';
import {
  archiveTags,
  catalogImages,
  checkFilters,
  filterTags,
  listRepositories,
  listTags,
  registryArg,
  repositoryArg,
  sourceImages,
  yamlImages,
  type TagFilters,
} from '../../image/tags.js';
import { goJson } from '../../image/inspect.js';
import { repositoryOf } from '../../ref/index.js';
import { parseSourceArg } from '../../ref/args.js';
import { toImgError } from '../../errors.js';

export const TAGS_HELP = `usage: img-tags [SOURCE...] [filters]          (or SOURCE records on stdin)
       img-tags --catalog [--tags] docker://HOST [filters]
       img-tags --yaml FILE [--registry KEY] [filters]
       img-tags docker://REPOSITORY --json | docker-archive:FILE --json | --catalog docker://HOST --json

Lists the images of sync sources as records {"ref": …}, one per image, ready for img-ref --to
and img-manifest get. Sources are read as skopeo sync reads them:
  docker://REPOSITORY        every tag (docker://REPOSITORY:TAG or @DIGEST: that image alone)
  oci:PATH                   every named image of the layout (oci:PATH:NAME: that one)
  dir:PATH                   every image directory below PATH
  docker-archive:FILE        every name of every image of the archive (FILE:NAME:TAG; FILE:@N unnamed)
  --catalog docker://HOST    the registry's repositories as records {"ref": "docker://HOST/REPO"};
                             with --tags, every tag of every repository
  --yaml FILE                the images a skopeo sync YAML file names (images, images-by-tag-regex,
                             images-by-semver), listed with the file's credentials, tls-verify and
                             cert-dir; --registry KEY keeps one registry key of the file
filters (on tags; for oci: on the part of the name after its last ":"):
  --regex RE       keep tags a Go (RE2) regular expression matches anywhere
  --exclude RE     drop tags it matches
  --semver C       keep tags that are versions satisfying the constraint (Masterminds semver v3)
  --newest N       keep the N highest versions, highest first
  --json           print what skopeo list-tags prints: {"Repository": …, "Tags": […]}; for
                   docker-archive:FILE {"Tags": […]}, every NAME:TAG of the file (@N: unnamed)

${REGISTRY_HELP}`;

/** tagsMain is img-tags's work (see TAGS_HELP); cmds/img-tags.ts runs it over stdin and stdout, img-copy and img-sync as a stage. */
export async function tagsMain(argv: string[], io: StageIO): Promise<number | void> {
  const flags = parseFlags(argv, COMMAND_FLAGS['img-tags']);
  const args = flags._.map(String);
  const topts = { registry: registryOptions(flags) };
  const f: TagFilters = {};
  for (const k of ['regex', 'exclude', 'semver'] as const) if (flags[k] !== undefined) f[k] = String(flags[k]);
  if (flags.newest !== undefined) f.newest = parseSize(flags.newest, '--newest');
  checkFilters(f);
  if (flags.registry !== undefined && flags.yaml === undefined) throw usage('--registry needs --yaml FILE');
  if (flags.tags && !flags.catalog) throw usage('--tags needs --catalog');
  // The filters are on tags: a catalog of repositories alone has none to filter.
  const filter = ['regex', 'exclude', 'semver', 'newest'].find((k) => flags[k] !== undefined);
  if (flags.json && flags.tags) throw usage('--tags does not go with --json (--catalog --json lists repositories)');
  if (filter !== undefined && flags.catalog && !flags.tags) throw usage(`--${filter} filters tags: with --catalog it needs --tags`);
  const out = io.out;

  if (flags.yaml !== undefined) {
    if (args.length > 0 || flags.catalog || flags.json) throw usage('--yaml takes no SOURCE, --catalog or --json');
    const key = flags.registry === undefined ? undefined : String(flags.registry);
    // Loaded only here: the YAML parser is a third of this command's start-up otherwise.
    const { readSyncYaml } = await import('../../sync/yaml.js');
    const sources = (await readSyncYaml(String(flags.yaml))).filter((s) => key === undefined || s.key === key);
    if (key !== undefined && sources.length === 0) throw usage(`--registry ${JSON.stringify(key)}: ${flags.yaml} has no such registry key`);
    // Each repository is one unit: a failure is an error record naming it (never the file's
    // credentials), and the rest goes on.
    let failed = false;
    for (const s of sources) {
      const ref = `docker://${s.registry}/${s.repository}`;
      try {
        for (const image of await yamlImages(s, f, topts)) await out.write({ ref: image });
      } catch (e) {
        const err = toImgError(e);
        failed = true;
        process.stderr.write(`img-tags: ${err.message}\n`);
        await out.write({ ref, error: { code: err.code, message: err.message, stage: 'img-tags' } });
      }
      if (out.closed) break;
    }
    return failed ? 1 : 0;
  }

  if (flags.json) {
    if (args.length !== 1) throw usage('--json takes exactly one SOURCE');
    if (flags.catalog) {
      const host = registryArg(args[0]!);
      process.stdout.write(`${goJson({ Registry: host, Repositories: await listRepositories(host, topts) })}\n`);
      return 0;
    }
    // An archive's names are whole NAME:TAGs of several repositories: skopeo prints no Repository.
    // What is no reference at all is refused as no repository (below).
    const src = (() => {
      try {
        return parseSourceArg(args[0]!);
      } catch {
        return undefined;
      }
    })();
    if (src !== undefined && !('docker' in src)) {
      process.stdout.write(`${goJson({ Tags: await archiveTags(src.ref, f, topts) })}\n`);
      return 0;
    }
    const repo = repositoryArg(args[0]!);
    process.stdout.write(`${goJson({ Repository: repositoryOf(repo), Tags: filterTags(await listTags(repo, topts), f) })}\n`);
    return 0;
  }

  // A bad SOURCE on the command line is a usage error, found before anything is listed.
  for (const a of args) {
    if (flags.catalog) registryArg(a);
    else parseSourceArg(a);
  }
  let catalogFailed = false;
  const status = await processRecords(
    'img-tags',
    records(args, 'img-tags', io),
    async (rec, emit) => {
      const source = requireString(rec, 'ref');
      const { ref: _drop, ...rest } = rec;
      if (!flags.catalog) {
        // dir: images found below SOURCE keep it as "base", for img-ref --to --scoped names (as skopeo sync's).
        for (const { ref, base } of await sourceImages(source, f, topts)) await emit({ ref, ...(base !== undefined ? { base } : {}), ...rest });
        return;
      }
      const host = registryArg(source);
      if (!flags.tags) {
        for (const r of await listRepositories(host, topts)) await emit({ ref: `docker://${host}/${r}`, ...rest });
        return;
      }
      for await (const item of catalogImages(host, f, topts)) {
        if (item.error === undefined) {
          await emit({ ref: item.ref, ...rest });
          continue;
        }
        const err = toImgError(item.error);
        process.stderr.write(`img-tags: ${err.message}\n`);
        catalogFailed = true;
        await emit({ ref: item.ref, ...rest, error: { code: err.code, message: err.message, stage: 'img-tags' } });
      }
    },
    io.out,
  );
  return catalogFailed ? 1 : status;
}
