import { parseFlags, run, usage } from '../lib/cli/run.js';
import { RecordWriter } from '../lib/stream/ndjson.js';
import { REGISTRY_FLAGS, REGISTRY_HELP, registryOptions } from '../lib/cli/registry-flags.js';
import { listRepositories, listTags, registryArg, repositoryArg } from '../lib/image/tags.js';
import { goJson } from '../lib/image/inspect.js';
import { repositoryOf } from '../lib/ref/index.js';

const HELP = `usage: img-tags docker://REPOSITORY [--json]
       img-tags --catalog docker://HOST [--json]

Lists a repository's tags as records {"ref": "docker://REPOSITORY:TAG"}, ready for img-manifest get.
  --json      print what skopeo list-tags prints: {"Repository": …, "Tags": […]}
  --catalog   list the registry's repositories instead, as records {"ref": "docker://HOST/REPO"}

${REGISTRY_HELP}`;

run('img-tags', HELP, async (argv) => {
  const flags = parseFlags(argv, { string: REGISTRY_FLAGS.string, boolean: [...REGISTRY_FLAGS.boolean, 'json', 'catalog'], default: REGISTRY_FLAGS.default });
  const args = flags._.map(String);
  if (args.length !== 1) throw usage(flags.catalog ? 'expected one docker://HOST' : 'expected one docker://REPOSITORY');
  const topts = { registry: registryOptions(flags) };
  const out = new RecordWriter(process.stdout);
  if (flags.catalog) {
    const host = registryArg(args[0]!);
    const repos = await listRepositories(host, topts);
    if (flags.json) process.stdout.write(`${goJson({ Registry: host, Repositories: repos })}\n`);
    else for (const r of repos) await out.write({ ref: `docker://${host}/${r}` });
    return;
  }
  const repo = repositoryArg(args[0]!);
  const tags = await listTags(repo, topts);
  const name = repositoryOf(repo);
  if (flags.json) process.stdout.write(`${goJson({ Repository: name, Tags: tags })}\n`);
  else for (const t of tags) await out.write({ ref: `docker://${name}:${t}` });
});
