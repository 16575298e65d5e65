#!/usr/bin/env bash
# CommonJS toolchains on the packed tarballs (in .tarballs/), installed with npm as users
# install them:
#   - the CommonJS app (test/consumers/cjs) under Jest, and under Node without require(esm):
#     both load the dist/cjs builds;
#   - a NestJS 11 app as `nest new` makes it (Jest + ts-jest, CommonJS): type-checked as
#     `nest build` does, then `npm test` and `npm run test:e2e`, with TokenfetchModule
#     against the mock upstream (the starter's ts-jest transpiles without type checks);
#   - the same app on NestJS 12 (the CommonJS starter): Nest 12 is ESM only, which Jest
#     loads from CommonJS with --experimental-vm-modules on Node 24.9+ only, so it runs
#     there, as its starter's `npm test` does.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
nest12_install=
trap '[ -z "$nest12_install" ] || kill "$nest12_install" 2>/dev/null; rm -rf "$work"' EXIT
tgz() { printf '%s\n' "$root"/.tarballs/tokenfetch-"$1"-*.tgz; }
npm_install() { # dir, packages...
  (cd "$1" && shift && npm install --loglevel=error --prefer-offline --no-audit --no-fund --no-package-lock "$@")
}
timed() { # label, command...
  local start=$SECONDS
  "${@:2}"
  echo "--- $1: $((SECONDS - start)) s"
}

# The starter's package.json (without the CLI, linters and formatters, which tests do not
# use) for a Nest major, with its jest config: TypeScript ^5.7 on Nest 11, ^6 on Nest 12.
nest_app() { # dir, nest major, typescript range, more tarballs...
  mkdir -p "$1"
  cp -r "$root/test/consumers/nest/." "$1/"
  if [ "$2" = 12 ]; then mv "$1/tsconfig.nest12.json" "$1/tsconfig.json"; else rm "$1/tsconfig.nest12.json"; fi
  cat > "$1/package.json" <<EOF
{
  "name": "nest-$2-app",
  "private": true,
  "scripts": {
    "test": "jest",
    "test:e2e": "jest --config ./test/jest-e2e.json"
  },
  "dependencies": {
    "@nestjs/common": "^$2.0.1",
    "@nestjs/core": "^$2.0.1",
    "@nestjs/platform-express": "^$2.0.1",
    "reflect-metadata": "^0.2.2",
    "rxjs": "^7.8.1"
  },
  "devDependencies": {
    "@nestjs/testing": "^$2.0.1",
    "@types/express": "^5.0.0",
    "@types/jest": "^30.0.0",
    "@types/node": "^24.0.0",
    "@types/supertest": "^7.0.0",
    "jest": "^30.0.0",
    "supertest": "^7.0.0",
    "ts-jest": "^29.2.5",
    "typescript": "$3"
  },
  "jest": {
    "moduleFileExtensions": ["js", "json", "ts"],
    "rootDir": "src",
    "testRegex": ".*\\\\.spec\\\\.ts$",
    "transform": { "^.+\\\\.(t|j)s$": "ts-jest" },
    "testEnvironment": "node"
  }
}
EOF
  npm_install "$1" "$(tgz core)" "$(tgz nestjs)" "$(tgz mock-upstream)" "${@:4}"
}

# Nest 12's install runs while the Nest 11 app is installed and tested.
nest_app "$work/nest12" 12 '^6.0.2' > "$work/nest12.log" 2>&1 &
nest12_install=$!
nest12_start=$SECONDS

timed "install: NestJS 11 app" nest_app "$work/nest11" 11 '^5.7.3' "$(tgz express)"
timed "NestJS 11: tsc (as nest build)" bash -c "cd '$work/nest11' && npx tsc --noEmit -p tsconfig.json"
timed "NestJS 11: npm test" bash -c "cd '$work/nest11' && npm test --silent -- --ci"
timed "NestJS 11: npm run test:e2e" bash -c "cd '$work/nest11' && npm run test:e2e --silent -- --ci"

# The CommonJS app, inside the Nest app's folder to use its node_modules (Jest, Express and
# the tarballs), which saves an install; its own (empty) jest config keeps Jest from
# looking further up.
plain="$work/nest11/plain-cjs"
mkdir -p "$plain"
cp -r "$root/test/consumers/cjs/." "$plain/"
printf '{ "name": "consumer-cjs", "private": true, "type": "commonjs", "jest": {} }\n' > "$plain/package.json"
timed "CommonJS app, Node without require(esm)" \
  bash -c "cd '$plain' && node --no-experimental-require-module app.cjs"
timed "CommonJS app under Jest" bash -c "cd '$plain' && npx jest --ci"

if ! wait "$nest12_install"; then
  nest12_install=
  cat "$work/nest12.log"
  exit 1
fi
nest12_install=
echo "--- install: NestJS 12 app (in the background): $((SECONDS - nest12_start)) s"
timed "NestJS 12: tsc (as nest build)" bash -c "cd '$work/nest12' && npx tsc --noEmit -p tsconfig.json"
jest12() { (cd "$work/nest12" && npx --yes node@24 --experimental-vm-modules node_modules/jest/bin/jest.js --ci "$@"); }
timed "NestJS 12 (Node 24): npm test" jest12
timed "NestJS 12 (Node 24): npm run test:e2e" jest12 --config ./test/jest-e2e.json
