#!/usr/bin/env bash
# What faasbox needs from the board and kernel before the Docker Engine goes on:
#   bash packaging/raspberrypi/preflight.sh [--fix-cgroups]
# Prints `board=<model> arch=<debian arch> platform=<docker platform>` when the
# machine can run faasbox. Stops (exit 2) with what to change when it cannot:
#   - an ARMv6 Raspberry Pi (Zero, Zero W, 1, CM1): Debian's armhf needs ARMv7;
#   - the memory cgroup disabled (Raspberry Pi OS kernels ship it off): it names
#     the line to add to cmdline.txt, or adds it with --fix-cgroups (then exit 3:
#     reboot and run the installer again).
# FAASBOX_ROOT (default /) is where /proc and /boot are read, so tests run every
# branch on a fake root; FAASBOX_ARCH overrides `dpkg --print-architecture`.
set -euo pipefail

root=${FAASBOX_ROOT:-}
root=${root%/}
fix=0
for arg in "$@"; do
  case "$arg" in
    --fix-cgroups) fix=1 ;;
    *) echo "preflight: unknown option $arg" >&2; exit 64 ;;
  esac
done
say() { printf 'install: %s\n' "$*" >&2; }
CGROUP_ARGS="cgroup_enable=memory cgroup_memory=1"

model=""
if [ -r "$root/proc/device-tree/model" ]; then
  # The device tree string ends with a NUL byte.
  model=$(tr -d '\0' <"$root/proc/device-tree/model")
fi
arch=${FAASBOX_ARCH:-$(dpkg --print-architecture 2>/dev/null || uname -m)}

case "$arch" in
  amd64 | x86_64) platform=linux/amd64 ;;
  arm64 | aarch64) platform=linux/arm64 ;;
  armhf | armv7l) platform=linux/arm/v7 ;;
  *) say "unsupported architecture $arch (faasbox runs on amd64, arm64 and armhf)"; exit 2 ;;
esac

if [[ "$model" =~ ^Raspberry\ Pi\ (Zero(\ W)?|Model\ [AB](\ Plus)?|Compute\ Module)\ Rev ]]; then
  say "$model is an ARMv6 board: Debian's armhf Docker Engine needs ARMv7 (a Pi 2 or later, Zero 2)"
  exit 2
fi

memory_enabled() {
  # /proc/cgroups: subsys_name hierarchy num_cgroups enabled (cgroup v1 and v2 kernels).
  if [ -r "$root/proc/cgroups" ]; then
    awk '$1 == "memory" { found = 1; exit !($4 == 1) } END { if (!found) exit 1 }' \
      "$root/proc/cgroups"
    return
  fi
  grep -qw memory "$root/sys/fs/cgroup/cgroup.controllers" 2>/dev/null
}

if ! memory_enabled; then
  cmdline=""
  for candidate in "$root/boot/firmware/cmdline.txt" "$root/boot/cmdline.txt"; do
    if [ -f "$candidate" ]; then cmdline=$candidate; break; fi
  done
  if [ -z "$cmdline" ]; then
    say "the memory cgroup is disabled: add '$CGROUP_ARGS' to the kernel command line and reboot"
    exit 2
  fi
  shown=${cmdline#"$root"}
  line=$(head -n 1 "$cmdline")
  missing=""
  for word in $CGROUP_ARGS; do
    [[ " $line " == *" $word "* ]] || missing="$missing $word"
  done
  if [ -z "$missing" ] && [[ " $line " != *" cgroup_disable=memory "* ]]; then
    say "the memory cgroup is disabled, but $shown already enables it: reboot to apply it"
    exit 2
  fi
  if [ "$fix" = 0 ]; then
    say "the memory cgroup is disabled, so Docker cannot run functions with memory limits."
    say "add this to the end of the single line in $shown, then reboot:"
    say "  $CGROUP_ARGS"
    say "(or run the installer again with --fix-cgroups to add it; a reboot is still needed)"
    exit 2
  fi
  # cmdline.txt is one line: an explicit cgroup_disable=memory goes, the missing
  # words go at its end, and the original stays beside it.
  cp -p "$cmdline" "$cmdline.faasbox-backup"
  line=$(printf ' %s ' "$line" | sed 's/ cgroup_disable=memory / /g; s/^ *//; s/ *$//')
  printf '%s%s\n' "$line" "$missing" >"$cmdline"
  say "added '$CGROUP_ARGS' to $shown (backup: $shown.faasbox-backup)"
  say "reboot, then run the installer again"
  exit 3
fi

printf 'board=%s arch=%s platform=%s\n' "${model:-unknown}" "$arch" "$platform"
