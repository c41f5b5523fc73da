#!/usr/bin/env bash
# Install and run faasbox on a fresh Debian/Ubuntu/Raspberry Pi OS box:
#   sudo bash scripts/install.sh          # install, then run in the foreground
#   sudo bash scripts/install.sh --systemd  # install as a systemd service instead
# Installs the Docker Engine when it is missing, puts faasbox in /opt/faasbox,
# links /usr/local/bin/faasbox, and starts `faasbox up`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "install: run as root (sudo): it installs packages and talks to dockerd" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! dpkg -s python3-venv >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
fi
bash scripts/engine.sh

prefix=${FAASBOX_PREFIX:-/opt/faasbox}
[ -x "$prefix/bin/python" ] || python3 -m venv "$prefix"
"$prefix/bin/pip" install -q --upgrade pip >/dev/null
"$prefix/bin/pip" install -q . >/dev/null
ln -sf "$prefix/bin/faasbox" /usr/local/bin/faasbox

if [ "${1:-}" = --systemd ]; then
  install -m 0644 packaging/systemd/faasbox.service /etc/systemd/system/faasbox.service
  systemctl daemon-reload
  systemctl enable --now faasbox
  echo "install: faasbox runs as the systemd service 'faasbox' (journalctl -u faasbox)"
  exit 0
fi
exec /usr/local/bin/faasbox up
