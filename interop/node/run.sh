#!/usr/bin/env bash
# Runs the official Node SDK (@fugle/marketdata, pinned in package.json)
# against cmd/mockserver twice: on its simulated feed, then on a recording of
# that feed made with examples/stream -record and served with -replay. Needs
# only Go and Node/npm. Exits non-zero at the first failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tmp="$(mktemp -d)"
mock_pid=""
node_pid=""
replay_pid=""

stop() {
  if [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null; then
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}

cleanup() {
  status=$?
  stop "$node_pid"
  stop "$mock_pid"
  stop "$replay_pid"
  if [[ $status -ne 0 && -s "$tmp/mock.log" ]]; then
    echo "--- mockserver log ---" >&2
    tail -n 50 "$tmp/mock.log" >&2
  fi
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

(cd "$here" && npm ci --silent --no-audit --no-fund >/dev/null)

# Build first, so that the processes started are the programs themselves and
# the trap stops them rather than go run wrappers.
(cd "$root" && go build -o "$tmp/mockserver" ./cmd/mockserver && go build -o "$tmp/stream" ./examples/stream)

# start_mock NAME ARGS...: starts the mock server with ARGS, sets NAME_pid
# and prints its base URL.
start_mock() {
  local name=$1
  shift
  mkfifo "$tmp/$name.stdout"
  "$tmp/mockserver" -addr 127.0.0.1:0 "$@" >"$tmp/$name.stdout" 2>>"$tmp/mock.log" &
  printf -v "${name}_pid" '%s' "$!"
  local url=""
  exec 3<"$tmp/$name.stdout"
  if ! read -r -t 30 -u 3 url || [[ "$url" != ws://* ]]; then
    echo "interop: FAIL: mockserver ($name) did not print its URL (got '${url}')" >&2
    exit 1
  fi
  exec 3<&-
  start_url=$url
}

run_node() {
  # In the background with wait, so that a signal to this script is handled
  # at once rather than after node ends.
  node "$here/interop.mjs" "$1" &
  node_pid=$!
  local status=0
  wait "$node_pid" || status=$?
  node_pid=""
  return "$status"
}

start_mock mock -rate 20
run_node "$start_url"

# Record a few seconds of the same feed with the SDK, then let the Node SDK
# consume the recording through -replay.
FUGLE_API_KEY=interop-key "$tmp/stream" -endpoint "$start_url" -symbols 2330,2317 -channels trades,books -for 3s \
  -record "$tmp/session.ndjson.zst" >/dev/null 2>>"$tmp/mock.log"
stop "$mock_pid"
mock_pid=""
start_mock replay -replay "$tmp/session.ndjson.zst" -speed 4
echo -n "replay: "
run_node "$start_url"
