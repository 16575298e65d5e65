#!/usr/bin/env bash
# Installs the packed tarballs (in .tarballs/) into four throwaway apps, the way users
# install them, and runs each: ESM JavaScript, TypeScript (type-checked first), CommonJS,
# and Fastify + Hono apps.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tarballs=("$root"/.tarballs/tokenfetch-core-*.tgz "$root"/.tarballs/tokenfetch-express-*.tgz "$root"/.tarballs/tokenfetch-mock-upstream-*.tgz)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

install() { # dir, extra packages...
  (cd "$1" && shift && npm install --silent --no-audit --no-fund --no-package-lock "${tarballs[@]}" express@^5 "$@")
}

for fixture in esm cjs ts frameworks; do
  mkdir -p "$work/$fixture"
  cp -r "$root/test/consumers/$fixture/." "$work/$fixture/"
  type=module; [ "$fixture" = cjs ] && type=commonjs
  printf '{ "name": "consumer-%s", "private": true, "type": "%s" }\n' "$fixture" "$type" > "$work/$fixture/package.json"
done
install "$work/esm"
install "$work/cjs"
install "$work/ts" typescript@~5.9.3 @types/express@^5 @types/node@^20
install "$work/frameworks" "$root"/.tarballs/tokenfetch-fastify-*.tgz "$root"/.tarballs/tokenfetch-hono-*.tgz fastify@^5 hono@^4

(cd "$work/esm" && node app.mjs)
(cd "$work/cjs" && node app.cjs)
(cd "$work/ts" && npx tsc -p tsconfig.json && node dist/app.js)
(cd "$work/frameworks" && node app.mjs)
