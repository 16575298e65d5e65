#!/usr/bin/env bash
# Proves the README's first two commands on a fresh clone of HEAD, with a PATH that has
# every command of this machine except pnpm: the first command installs pnpm (inside the
# clone) and the dependencies, `npm start` serves /me from the Express example on the
# embedded mock upstream, and `npm test` (a second run: no install) builds and passes a
# part of the suite. The whole suite already ran through `npm test` in .ci/run.
set -euo pipefail
source="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
server=''
cleanup() {
  [ -n "$server" ] && kill -INT -- "-$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

git clone --quiet "$source" "$work/repo"

# Every command on PATH, as symbolic links in one directory, but pnpm and pnpx.
mkdir "$work/bin"
IFS=: read -ra dirs <<<"$PATH"
for dir in "${dirs[@]}"; do
  for file in "$dir"/*; do
    name="${file##*/}"
    case "$name" in pnpm | pnpx) continue ;; esac
    if [ -x "$file" ] && [ ! -e "$work/bin/$name" ]; then ln -s "$file" "$work/bin/$name"; fi
  done
done
export PATH="$work/bin"
if command -v pnpm >/dev/null; then
  echo "pnpm is still on PATH: $(command -v pnpm)" >&2
  exit 1
fi

cd "$work/repo"
port="$(node -e "const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })")"

echo "--- npm start (first run: installs pnpm and the dependencies), then GET /me"
PORT="$port" setsid npm start >"$work/start.log" 2>&1 &
server=$!
me=''
for _ in $(seq 600); do
  me="$(curl -fsS "http://127.0.0.1:$port/me" 2>/dev/null)" && break
  if ! kill -0 "$server" 2>/dev/null; then break; fi
  sleep 0.5
done
cat "$work/start.log"
echo "GET /me: $me"
case "$me" in *'"email":"demo@example.com"'*) ;; *) echo "npm start did not serve /me" >&2; exit 1 ;; esac
grep -q "installing pnpm" "$work/start.log"
kill -INT -- "-$server"
wait "$server" || true
server=''

echo "--- npm test -- <one file> (second run: nothing to install)"
npm test -- packages/cli/test/token.test.ts 2>&1 | tee "$work/test.log"
if grep -q "^\[tokenfetch\] installing" "$work/test.log"; then
  echo "the second run installed again" >&2
  exit 1
fi
if command -v pnpm >/dev/null; then
  echo "pnpm was installed on PATH: $(command -v pnpm)" >&2
  exit 1
fi
echo "fresh clone: npm start and npm test work without pnpm on PATH"
