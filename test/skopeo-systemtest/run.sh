#!/bin/bash
# run.sh [BATS-FILE...]: runs skopeo's system tests (systemtest/*.bats) with imgpipe as skopeo,
# under Debian's bats, and prints their TAP. The tests are skopeo's own, taken from Debian's skopeo
# source package (1.9.3) when the run starts, not copied here; README.md lists what this run
# changes in them and why. Needs bats, docker-registry, jq, openssl, htpasswd, gpg, podman, and
# apt-get reaching Debian's archive (the source package is kept in IMGPIPE_SYSTEMTEST_CACHE, by
# default ~/.cache/imgpipe/skopeo-systemtest).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
VERSION=1.9.3+ds1-1
CACHE=${IMGPIPE_SYSTEMTEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/imgpipe/skopeo-systemtest}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/imgpipe-systemtest.XXXXXX")
STANDIN_PID=
cleanup() {
    [[ -n $STANDIN_PID ]] && kill "$STANDIN_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# 1. skopeo's tests, from Debian's source package (apt-get source with a list of its own: the
#    machine's apt configuration is not touched)
tarball=$CACHE/skopeo_${VERSION%-*}.orig.tar.xz
if [[ ! -f $tarball ]]; then
    mkdir -p "$CACHE/lists/partial"
    echo "deb-src http://deb.debian.org/debian bookworm main" > "$CACHE/sources.list"
    apt=(-o "Dir::Etc::SourceList=$CACHE/sources.list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$CACHE/lists")
    apt-get "${apt[@]}" -qq update >&2
    (cd "$CACHE" && apt-get "${apt[@]}" -qq source --download-only "skopeo=$VERSION" >&2)
fi
tar -xJf "$tarball" -C "$WORK" --strip-components=1 "skopeo-${VERSION%-*}/systemtest" "skopeo-${VERSION%-*}/LICENSE"
T=$WORK/systemtest

# 2. the changes README.md lists
echo "source $HERE/imgpipe-helpers.bash" >> "$T/helpers.bash"
# the host's architecture as skopeo names it, without podman info
sed -i "s/arch=\$(podman info --format '{{.Host.Arch}}')/arch=\$(dpkg --print-architecture)/" "$T/010-inspect.bats"
# what current skopeo prints and returns, as its main branch's tests expect it
sed -i 's/no image found in manifest list for architecture \$arch, variant /no image found in manifest list for architecture \\\\\\\\\\"$arch\\\\\\\\\\", variant /' "$T/010-inspect.bats"
sed -i 's/"unauthorized: authentication required"/"authentication required"/' "$T/040-local-registry-auth.bats"
sed -i 's/run_skopeo 1 inspect --tls-verify=false --creds=\$testuser:\$testpassword/run_skopeo 2 inspect --tls-verify=false --creds=$testuser:$testpassword/; s/"manifest unknown: manifest unknown"/"manifest unknown"/' "$T/040-local-registry-auth.bats"
sed -i 's|^/myns/alice:unsigned       Signature for identity localhost:5000/myns/alice:signed is not accepted|/myns/alice:unsigned       Signature for identity \\\\\\\\\\\\\\\\"localhost:5000/myns/alice:signed\\\\\\\\\\\\\\\\" is not accepted|; s/awk .{print \$4;}./awk '"'"'{print $NF;}'"'"'/' "$T/050-signing.bats"
sed -i 's/^    expected_rc=1$/    expected_rc=2/' "$T/060-delete.bats"

# 3. the stand-ins for quay.io's images, in a registry of their own whose HOST:PORT the tests name
#    instead of quay.io, made insecure (plain http) by registries.conf as quay.io needs no flag
export PATH="$ROOT/bin:$PATH"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
STANDIN=127.0.0.1:$port
cat > "$WORK/standin.yml" <<YAML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $WORK/standin}}
http: {addr: $STANDIN}
YAML
docker-registry serve "$WORK/standin.yml" > "$WORK/standin.log" 2>&1 &
STANDIN_PID=$!
for _ in $(seq 50); do (echo -n > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
"$HERE/standins.sh" "$STANDIN"
cat > "$WORK/registries.conf" <<CONF
[[registry]]
location = "$STANDIN"
insecure = true
CONF
sed -i "s|quay\.io/|$STANDIN/|g" "$T"/*.bats

# 4. imgpipe as skopeo, and bats
mkdir -p "$WORK/bin"
ln -s "$ROOT/bin/imgpipe" "$WORK/bin/skopeo"
files=()
if [[ $# -gt 0 ]]; then
    for f in "$@"; do files+=("$T/$(basename "$f")"); done
else
    files=("$T"/*.bats)
fi
# a HOME of the run's own: skopeo's default policy (accept anything, as a fresh skopeo package's)
# and no user's credentials or registries
mkdir -p "$WORK/home/.config/containers"
echo '{"default":[{"type":"insecureAcceptAnything"}]}' > "$WORK/home/.config/containers/policy.json"
cd "$T"
env HOME="$WORK/home" SKOPEO_BINARY="$WORK/bin/skopeo" CONTAINERS_REGISTRIES_CONF="$WORK/registries.conf" TEST_SOURCE_DIR="$T" \
    bats --tap "${files[@]}"
