#!/usr/bin/env bash
# Runs the official Node SDK (@fugle/marketdata, pinned in package.json)
# against cmd/mockserver. Needs only Go and Node/npm. Exits with the status of
# interop.mjs.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
tmp="$(mktemp -d)"
mock_pid=""
node_pid=""

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

# Build first, so that the process started is the server itself and the trap
# stops it rather than a go run wrapper.
(cd "$root" && go build -o "$tmp/mockserver" ./cmd/mockserver)

mkfifo "$tmp/stdout"
"$tmp/mockserver" -addr 127.0.0.1:0 -rate 20 >"$tmp/stdout" 2>"$tmp/mock.log" &
mock_pid=$!
exec 3<"$tmp/stdout"
url=""
if ! read -r -t 30 -u 3 url || [[ "$url" != ws://* ]]; then
  echo "interop: FAIL: mockserver did not print its URL (got '${url}')" >&2
  exit 1
fi

# In the background with wait, so that a signal to this script is handled at
# once rather than after node ends.
node "$here/interop.mjs" "$url" &
node_pid=$!
status=0
wait "$node_pid" || status=$?
node_pid=""
exit "$status"
