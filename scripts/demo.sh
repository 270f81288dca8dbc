#!/usr/bin/env bash
# make demo: build a small sample image into an oci: layout with img-* commands, copy it to a
# dir: image through the pipeline img-manifest get | img-ref --to | img-blob-put | img-manifest put,
# move it across an "air gap" through an archive on a pipe with img-copy, and sync it with img-sync.
set -euo pipefail
export PATH="$(cd "$(dirname "$0")/.." && pwd)/bin:$PATH"
work=$(mktemp -d "${TMPDIR:-/tmp}/imgpipe-demo.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
say() { printf '\n\033[1m# %s\033[0m\n' "$*" >&2; }

say "1. a sample image: one layer, a config and a manifest, stored in oci:$work/layout:demo"
mkdir -p "$work/rootfs/etc"
echo "hello from imgpipe" > "$work/rootfs/etc/motd"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/rootfs" -cf "$work/layer.tar" .
gzip -n -c "$work/layer.tar" > "$work/layer.tar.gz"
diff_id=$(img-digest "$work/layer.tar")
layer=$(img-blob-put "oci:$work/layout" --media-type application/vnd.oci.image.layer.v1.tar+gzip < "$work/layer.tar.gz")
jq -nc --arg d "$diff_id" '{architecture:"amd64",os:"linux",config:{Env:["PATH=/usr/bin:/bin"],Cmd:["cat","/etc/motd"]},
  rootfs:{type:"layers",diff_ids:[$d]},history:[{created_by:"make demo"}]}' > "$work/config.json"
config=$(img-blob-put "oci:$work/layout" --media-type application/vnd.oci.image.config.v1+json < "$work/config.json")
jq -nc --argjson c "$config" --argjson l "$layer" '{schemaVersion:2,mediaType:"application/vnd.oci.image.manifest.v1+json",
  config:{mediaType:$c.mediaType,digest:$c.digest,size:$c.size},layers:[{mediaType:$l.mediaType,digest:$l.digest,size:$l.size}]}' \
  | jq -c '{manifest: .}' | img-manifest put "oci:$work/layout:demo" >/dev/null

say "2. copy it: img-manifest get oci:…:demo | img-ref --to dir:$work/copies | img-blob-put | img-manifest put"
img-manifest get "oci:$work/layout:demo" \
  | img-ref --to "dir:$work/copies" \
  | img-blob-put \
  | img-manifest put \
  | jq -c '{ref, dest, digest, size, status}'

say "3. the copy reads back with the same digest"
img-manifest get "dir:$work/copies/demo" | jq -c '{ref, digest, layers: [.manifest.layers[].digest]}'
ls -l "$work/copies/demo" >&2

# img-copy and img-sync check images against a trust policy, as skopeo does; the demo's accepts anything.
echo '{"default":[{"type":"insecureAcceptAnything"}]}' > "$work/policy.json"

say "4. across an air gap: img-copy oci:…:demo oci-archive:/dev/stdout | img-copy oci-archive:/dev/stdin dir:…"
img-copy --policy "$work/policy.json" "oci:$work/layout:demo" oci-archive:/dev/stdout \
  | img-copy --policy "$work/policy.json" oci-archive:/dev/stdin "dir:$work/far-side" \
  | jq -c '{dest, digest, status}'

say "5. sync the whole layout into dir: directories (img-sync --src oci --dest dir), then again: nothing moves"
img-sync --policy "$work/policy.json" --src oci --dest dir "$work/layout" "$work/mirror" | jq -c '{ref, dest, status}'
img-sync --policy "$work/policy.json" --src oci --dest dir "$work/layout" "$work/mirror" | jq -c '{dest, status}'
