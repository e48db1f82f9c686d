#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine. Idempotent: does nothing when `docker info` works.
#  - installs Debian's docker.io when dockerd is absent (needs root and the apt mirror),
#  - starts dockerd in the background, logging to $DEPAUDIT_DOCKERD_LOG (default /var/log/dockerd.log),
#  - waits (bounded by $DEPAUDIT_DOCKERD_WAIT seconds, default 60) until `docker info` answers.
# Exit 0 when the engine answers, 1 otherwise (with the tail of the daemon log on stderr).
set -euo pipefail

log_file="${DEPAUDIT_DOCKERD_LOG:-/var/log/dockerd.log}"
wait_seconds="${DEPAUDIT_DOCKERD_WAIT:-60}"

say() { echo "engine.sh: $*" >&2; }

engine_answers() { docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && engine_answers; then
    say "docker engine already answering"
    exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
        say "dockerd is not installed and this is not root; install docker.io first"
        exit 1
    fi
    say "installing docker.io with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq docker.io >/dev/null
fi

if ! command -v docker >/dev/null 2>&1; then
    say "no docker client on PATH after installing docker.io"
    exit 1
fi

# Another invocation may have started the daemon a moment ago; only start one if none is running.
if ! pgrep -x dockerd >/dev/null 2>&1; then
    say "starting dockerd (log: $log_file)"
    mkdir -p "$(dirname "$log_file")"
    nohup dockerd >>"$log_file" 2>&1 </dev/null &
    disown || true
fi

deadline=$((SECONDS + wait_seconds))
until engine_answers; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        say "docker engine did not answer within ${wait_seconds}s; last lines of $log_file:"
        tail -n 20 "$log_file" >&2 || true
        exit 1
    fi
    sleep 1
done
say "docker engine answering ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
