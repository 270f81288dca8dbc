#!/bin/bash
# standins.sh REGISTRY (HOST:PORT of a plain-http registry): pushes the small images that stand in
# for the quay.io images skopeo's system tests pull (registries.conf sends quay.io there).
set -euo pipefail
REG=$1
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
push() { img-copy --insecure-policy --dest-tls-verify=false "$1" "docker://$REG/$2" >/dev/null; }

# image NAME JQ TEXT: a dir: image at $WORK/NAME, a Docker schema 2 manifest with one gzip layer
# holding /etc/motd = TEXT and a config made by the jq program JQ from a plain amd64 Linux one.
image() {
    local name=$1 prog=$2 text=$3 d=$WORK/$1
    mkdir -p "$d" "$WORK/rootfs-$name/etc"
    printf '%s\n' "$text" > "$WORK/rootfs-$name/etc/motd"
    tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$WORK/rootfs-$name" -cf "$WORK/$name.tar" .
    gzip -n -c "$WORK/$name.tar" > "$WORK/$name.tar.gz"
    local diff layer config
    diff=$(sha256sum "$WORK/$name.tar" | cut -d' ' -f1)
    layer=$(sha256sum "$WORK/$name.tar.gz" | cut -d' ' -f1)
    jq -cn --arg d "sha256:$diff" '{architecture: "amd64", os: "linux", created: "2021-01-21T10:11:12.123456789Z",
        config: {Env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["sh"]},
        rootfs: {type: "layers", diff_ids: [$d]}, history: [{created_by: "imgpipe stand-in"}]}' | jq -c "$prog" > "$WORK/$name.config"
    config=$(sha256sum "$WORK/$name.config" | cut -d' ' -f1)
    cp "$WORK/$name.tar.gz" "$d/$layer"
    cp "$WORK/$name.config" "$d/$config"
    jq -cn --arg c "sha256:$config" --argjson cs "$(stat -c%s "$WORK/$name.config")" --arg l "sha256:$layer" --argjson ls "$(stat -c%s "$WORK/$name.tar.gz")" \
        '{schemaVersion: 2, mediaType: "application/vnd.docker.distribution.manifest.v2+json",
          config: {mediaType: "application/vnd.docker.container.image.v1+json", size: $cs, digest: $c},
          layers: [{mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", size: $ls, digest: $l}]}' > "$d/manifest.json"
    echo 'Directory Transport Version: 1.1' > "$d/version"
}

image busybox '.' 'busybox stand-in'
push "dir:$WORK/busybox" libpod/busybox:latest
image alpine '.' 'alpine stand-in'
push "dir:$WORK/alpine" libpod/alpine:latest
image alpine_labels '.docker_version = "20.10.7" | .config.Labels = {"PODMAN": "podman run --rm -it IMAGE", "io.buildah.version": "1.19.0", "name": "alpine_labels"}' 'alpine_labels stand-in'
push "dir:$WORK/alpine_labels" libpod/alpine_labels:latest
image fedora31 '.config.Env += ["DISTTAG=f31container", "FGC=f31"]' 'fedora 31 stand-in'
push "dir:$WORK/fedora31" libpod/fedora:31
image fedora '.' 'fedora stand-in'
push "dir:$WORK/fedora" fedora/fedora:latest
push "dir:$WORK/fedora" fedora/fedora:41

# notmyarch: a manifest list whose one image is for amigaos/mc68000/1000 (make-noarch-manifest's)
image notmyarch '.architecture = "mc68000" | .os = "amigaos" | .variant = "1000"' 'notmyarch stand-in'
push "dir:$WORK/notmyarch" libpod/notmyarch:image
m=$WORK/notmyarch/manifest.json
jq -cn --arg d "sha256:$(sha256sum "$m" | cut -d' ' -f1)" --argjson s "$(stat -c%s "$m")" \
    '{schemaVersion: 2, mediaType: "application/vnd.docker.distribution.manifest.list.v2+json",
      manifests: [{mediaType: "application/vnd.docker.distribution.manifest.v2+json", size: $s, digest: $d,
                   platform: {architecture: "mc68000", os: "amigaos", variant: "1000"}}]}' > "$WORK/list.json"
jq -cn --rawfile raw "$WORK/list.json" '{raw: $raw}' | img-manifest put --tls-verify=false "docker://$REG/libpod/notmyarch:20210121" >/dev/null
