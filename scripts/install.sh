#!/usr/bin/env bash
# Install and run faasbox on a fresh Debian/Ubuntu/Raspberry Pi OS box (amd64, arm64, armhf):
#   sudo bash scripts/install.sh               # install, then run in the foreground
#   sudo bash scripts/install.sh --systemd     # install as a systemd service instead
#   sudo bash scripts/install.sh --container   # the appliance image and the `func` stack
#   add --fix-cgroups to enable the memory cgroup in a Raspberry Pi's cmdline.txt;
#   --check only runs the board and kernel checks and prints what would be installed.
# Installs the Docker Engine (Debian's docker.io) when it is missing, initialises a
# single-node Swarm, puts faasbox in /opt/faasbox and links /usr/local/bin/faasbox.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'install: %s\n' "$*" >&2; }
mode=foreground
check=0
preflight_args=()
for arg in "$@"; do
  case "$arg" in
    --systemd | --container)
      if [ "$mode" != foreground ]; then say "choose one of --systemd and --container"; exit 64; fi
      mode=${arg#--} ;;
    --check) check=1 ;;
    --fix-cgroups) preflight_args+=(--fix-cgroups) ;;
    *) say "unknown option $arg (see the top of $0)"; exit 64 ;;
  esac
done

if [ "$check" = 0 ] && [ "$(id -u)" != 0 ]; then
  say "run as root (sudo): it installs packages and talks to dockerd"
  exit 1
fi
# The memory cgroup, the board and the architecture, before anything is installed.
checked=$(bash packaging/raspberrypi/preflight.sh "${preflight_args[@]}")
platform=${checked##*platform=}
if [ "$check" = 1 ]; then
  printf '%s mode=%s\n' "$checked" "$mode"
  exit 0
fi
say "${checked}"

export DEBIAN_FRONTEND=noninteractive
packages=(python3-venv)
# PyPI has no armhf wheels of uvloop and httptools: pip compiles them there.
[ "$platform" = linux/arm/v7 ] && packages+=(gcc python3-dev)
missing=()
for pkg in "${packages[@]}"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
bash scripts/engine.sh

prefix=${FAASBOX_PREFIX:-/opt/faasbox}
[ -x "$prefix/bin/python" ] || python3 -m venv "$prefix"
say "installing faasbox into $prefix"
"$prefix/bin/pip" install -q --disable-pip-version-check . >/dev/null
ln -sf "$prefix/bin/faasbox" /usr/local/bin/faasbox

case "$mode" in
  systemd)
    install -m 0644 packaging/systemd/faasbox.service /etc/systemd/system/faasbox.service
    systemctl daemon-reload
    systemctl enable --now faasbox
    say "faasbox runs as the systemd service 'faasbox' (journalctl -u faasbox)"
    ;;
  container)
    image=${FAASBOX_IMAGE:-faasbox/faasbox:latest}
    if ! docker image inspect "$image" >/dev/null 2>&1; then
      say "building $image for $platform (official Python base images)"
      "$prefix/bin/python" scripts/build-appliance.py --official-bases \
        --platform "$platform" --tag "$image"
      docker tag "$image-$(printf '%s' "$platform" | tr / -)" "$image"
    fi
    say "building the sample functions"
    FAASBOX="$prefix/bin/faasbox" PYTHON="$prefix/bin/python" \
      bash packaging/sample-functions/build.sh >/dev/null
    FAASBOX_IMAGE=$image docker stack deploy -c packaging/stack/docker-compose.yml func
    say "faasbox runs as the stack 'func' on :8080; its admin password is in"
    say "  $(docker volume inspect func_state --format '{{.Mountpoint}}')/basic-auth-password"
    ;;
  foreground)
    exec /usr/local/bin/faasbox up
    ;;
esac
