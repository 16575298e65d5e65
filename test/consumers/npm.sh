#!/usr/bin/env bash
# What npm users run, on the packed tarballs (.tarballs/): the READMEs' `npm install`
# lines (install-lines.mjs, in the background: it mostly waits on the registry) and the
# CommonJS toolchains, Jest and NestJS's starters (jest.sh).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
log="$(mktemp)"
lines=
trap '[ -z "$lines" ] || kill "$lines" 2>/dev/null; rm -f "$log"' EXIT
start=$SECONDS
node "$here/install-lines.mjs" > "$log" 2>&1 &
lines=$!
bash "$here/jest.sh"
status=0
wait "$lines" || status=$?
lines=
echo "=== the READMEs' npm install lines"
cat "$log"
echo "--- all: $((SECONDS - start)) s"
exit "$status"
