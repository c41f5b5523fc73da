#!/usr/bin/env bash
# Build a base image from Debian packages, with no registry:
#   scripts/offline-base.sh TAG [PACKAGE...]
# mmdebstrap makes a minbase rootfs holding PACKAGE..., then a FROM scratch + ADD
# build records the right platform (a `docker import` would record the host's).
# PLATFORM=linux/arm64 (or linux/arm/v7) builds a foreign base through qemu-user.
# The image is reused when it already exists; FORCE=1 rebuilds it.
# VARIANT (default minbase) is mmdebstrap's: `essential` drops apt, `extract`
# only unpacks PACKAGE... and their dependencies (no shell unless asked for,
# no maintainer scripts), which makes the smallest runtime stages for
# multi-stage templates.
set -euo pipefail
tag=$1; shift
platform=${PLATFORM:-}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=${DEBIAN_SUITE:-bookworm}
variant=${VARIANT:-minbase}

# The engine package's own client builds with BuildKit natively; a newer
# stand-alone client would need the buildx plugin, which Debian does not ship.
docker=docker
[ -x /usr/bin/docker ] && docker=/usr/bin/docker

present() { [ -z "${FORCE:-}" ] && "$docker" image inspect "$tag" >/dev/null 2>&1; }
# A present base needs no lock: callers never wait behind another base's build
# (a foreign one under qemu takes minutes).
present && exit 0
exec 9>/tmp/faasbox-offline-base.lock
flock 9
present && exit 0
command -v mmdebstrap >/dev/null 2>&1 || {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq mmdebstrap >/dev/null
}

arch_args=()
build_args=()
case "$platform" in
  "") ;;
  linux/amd64) arch_args=(--architectures=amd64) ;;
  linux/arm64) arch_args=(--architectures=arm64) ;;
  linux/arm/v7) arch_args=(--architectures=armhf) ;;
  *) echo "offline-base: unsupported platform $platform" >&2; exit 2 ;;
esac
[ -n "$platform" ] && build_args=(--platform "$platform")

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
include=$(IFS=,; echo "${*:-ca-certificates}")
mmdebstrap --quiet --variant="$variant" "${arch_args[@]}" --include="$include" \
  --dpkgopt='path-exclude=/usr/share/{doc,man,locale,info}/*' \
  --format=tar "$suite" "$dir/rootfs.tar" "$mirror"
# extract runs neither dpkg (so no path-exclude) nor hooks: drop the docs here.
if [ "$variant" = extract ]; then
  tar --delete -f "$dir/rootfs.tar" --wildcards './usr/share/doc/?*' './usr/share/man/?*' \
    './usr/share/locale/?*' './usr/share/info/?*' 2>/dev/null || true
fi
# EXCLUDE: space-separated globs of rootfs paths to drop with everything below them
# (e.g. './usr/lib/*/gconv'). Filtered by Python's tarfile: `tar --delete` can leave
# an archive Docker refuses.
if [ -n "${EXCLUDE:-}" ]; then
  # shellcheck disable=SC2086 # the globs are words, expanded by fnmatch below
  python3 - "$dir/rootfs.tar" $EXCLUDE <<'PY'
import fnmatch, os, sys, tarfile
path, patterns = sys.argv[1], sys.argv[2:]
def dropped(name):
    return any(fnmatch.fnmatch(name, p) or fnmatch.fnmatch(name, p + "/*") for p in patterns)
with tarfile.open(path) as src, tarfile.open(path + ".new", "w", format=src.format) as dst:
    for member in src:
        if dropped(member.name) or (member.islnk() and dropped(member.linkname)):
            continue
        dst.addfile(member, src.extractfile(member) if member.isreg() else None)
os.replace(path + ".new", path)
PY
fi
printf 'FROM scratch\nADD rootfs.tar /\nCMD ["/bin/sh"]\n' >"$dir/Dockerfile"
DOCKER_BUILDKIT=1 "$docker" build --quiet "${build_args[@]}" -t "$tag" "$dir" >/dev/null
echo "offline-base: built $tag" >&2
