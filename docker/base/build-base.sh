#!/usr/bin/env bash
# Build the local stand-in base image `depaudit/python:3.11-slim` where no container registry is reachable:
# debootstrap a minimal Debian bookworm, import it, install Debian's python3 (3.11) + python3-venv on it,
# trim docs/man pages/locales/apt lists, and flatten into one layer (docker/base/Dockerfile).
#
# usage: docker/base/build-base.sh [--force] [--tag NAME:TAG] [--mirror URL]
#   --force   rebuild even when the image already exists (default: skip when it exists)
# Needs root (debootstrap), a running Docker engine (docker/engine.sh) and the Debian mirror.
set -euo pipefail

tag="${DEPAUDIT_BASE_IMAGE:-depaudit/python:3.11-slim}"
mirror="${DEPAUDIT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
suite="bookworm"
force=0
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

while [ $# -gt 0 ]; do
    case "$1" in
        --force) force=1 ;;
        --tag) tag="$2"; shift ;;
        --mirror) mirror="$2"; shift ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "build-base.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

say() { echo "build-base.sh: $*" >&2; }

if [ "$force" -eq 0 ] && docker image inspect "$tag" >/dev/null 2>&1; then
    say "$tag already exists (use --force to rebuild)"
    exit 0
fi

if ! command -v debootstrap >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing debootstrap with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null 2>&1 \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
fi
for tool in debootstrap docker tar; do
    command -v "$tool" >/dev/null 2>&1 || { say "$tool not found on PATH"; exit 1; }
done
ca_bundle="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}"
[ -r "$ca_bundle" ] || { say "CA bundle not readable: $ca_bundle"; exit 1; }

work="$(mktemp -d /var/tmp/depaudit-base.XXXXXX)"
rootfs_image="depaudit/debootstrap-rootfs:$suite-$$"
install_stage=""
cleanup() {
    rm -rf "$work"
    # the legacy builder keeps the `install` stage as an untagged image; it holds the imported root file
    # system, so it goes first
    [ -z "$install_stage" ] || docker image rm "$install_stage" >/dev/null 2>&1 || true
    docker image rm "$rootfs_image" >/dev/null 2>&1 || true
}
trap cleanup EXIT

start=$SECONDS
say "debootstrap --variant=minbase $suite from $mirror (log: $work/debootstrap.log)"
if ! debootstrap --variant=minbase "$suite" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
    say "debootstrap failed; last lines:"
    tail -n 20 "$work/debootstrap.log" >&2
    tail -n 20 "$work/rootfs/debootstrap/debootstrap.log" >&2 2>/dev/null || true
    exit 1
fi
# The .debs debootstrap downloaded are not part of the system.
rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*

say "importing the root file system as $rootfs_image"
tar -C "$work/rootfs" --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -c . \
    | docker import - "$rootfs_image" >/dev/null

mkdir "$work/context"
cp "$here/Dockerfile" "$here/dpkg-excludes" "$here/apt-docker.conf" "$work/context/"
cp "$ca_bundle" "$work/context/ca-certificates.crt"
say "building $tag"
docker build --network host --build-arg "ROOTFS_IMAGE=$rootfs_image" -t "$tag" "$work/context" >"$work/build.log" 2>&1 || {
    say "docker build failed; last lines:"
    tail -n 30 "$work/build.log" >&2
    exit 1
}
install_stage=$(awk '/^Step [0-9]+\/[0-9]+ : FROM scratch/ {print last; exit} /^ ---> [0-9a-f]+$/ {last=$2}' "$work/build.log")
size=$(docker image inspect --format '{{.Size}}' "$tag")
say "built $tag: $((size / 1000000)) MB in $((SECONDS - start)) s"
