#!/usr/bin/env bash
# Make sure a Docker Engine in Swarm mode answers on this machine.
# Installs Debian's docker.io when dockerd is missing, starts dockerd when it is
# not running (systemd when it is PID 1, else in the background), initialises a
# single-node Swarm when it is inactive. Safe to run again: it only fills gaps.
set -euo pipefail

log() { printf 'engine: %s\n' "$*" >&2; }

if ! command -v dockerd >/dev/null 2>&1; then
  log "dockerd missing: installing docker.io"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  if [ "$(ps -p 1 -o comm= 2>/dev/null)" = systemd ]; then
    log "starting docker with systemd"
    systemctl start docker || true
  fi
  if ! docker info >/dev/null 2>&1; then
    log "starting dockerd in the background (log: /var/log/dockerd.log)"
    nohup dockerd >/var/log/dockerd.log 2>&1 &
  fi
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { log "dockerd did not start; see /var/log/dockerd.log"; exit 1; }
fi

state=$(docker info --format '{{.Swarm.LocalNodeState}}')
if [ "$state" != active ]; then
  log "initialising single-node swarm"
  if ! docker swarm init >/dev/null 2>&1; then
    docker swarm init --advertise-addr 127.0.0.1 >/dev/null
  fi
fi
log "ready: $(docker version --format 'server {{.Server.Version}}'), swarm active"
