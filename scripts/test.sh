#!/usr/bin/env bash
# The whole test suite, from a fresh Debian/Ubuntu/Raspberry Pi OS box:
#   sudo bash scripts/test.sh [pytest args]
# Installs what the tests need (Docker Engine included), starts the engine in
# Swarm mode, makes .venv, then runs ruff, mypy and pytest. Re-running is cheap.
set -euo pipefail
cd "$(dirname "$0")/.."

need_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "test: run as root (sudo): it installs packages and starts dockerd" >&2
    exit 1
  fi
}

# Debian packages the suites use: engine, base-image builds, load generators,
# browser, Prometheus/AlertManager, qemu for foreign architectures, a registry.
packages=(docker.io mmdebstrap wrk chromium prometheus prometheus-alertmanager
          qemu-user-static binfmt-support docker-registry git gcc libc6-dev python3-venv)
if [ -f scripts/test-deps.txt ]; then
  while read -r pkg; do [ -n "$pkg" ] && packages+=("$pkg"); done < <(grep -v '^#' scripts/test-deps.txt)
fi
missing=()
for pkg in "${packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  need_root
  echo "test: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # Wait for another apt client (unattended upgrades on a new box) instead of failing.
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

bash scripts/engine.sh

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
# setuptools warns at length about the template folders it ships as data; keep
# that out of the test output unless the install fails.
pip_log=$(mktemp)
if ! { .venv/bin/pip install -q --upgrade pip && .venv/bin/pip install -q -e '.[dev]'; } >"$pip_log" 2>&1; then
  cat "$pip_log" >&2
  exit 1
fi
rm -f "$pip_log"

echo "test: ruff" >&2
.venv/bin/ruff check .
.venv/bin/ruff format --check . >/dev/null || { .venv/bin/ruff format --diff . | head -40; exit 1; }
echo "test: mypy" >&2
.venv/bin/mypy
echo "test: pytest" >&2
set +e
.venv/bin/pytest -q -p no:cacheprovider "$@"
code=$?
set -e
# pytest exits 5 when it collected no test: for a selection given on the command
# line that is an answer, not a failure; for the whole suite it is a failure.
if [ "$code" = 5 ] && [ $# -gt 0 ]; then
  echo "test: no test matched the selection" >&2
  exit 0
fi
exit "$code"
