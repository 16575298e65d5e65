import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (pkg: string) =>
  fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

// Inside the workspace the tests run against the sources; the packed tarballs are
// checked separately (publint, attw, consumer fixtures in .ci/run).
export const alias = {
  // Core's `imports` map sends Node to undici (package.json); the tests run on Node, from source.
  '#platform': fileURLToPath(new URL('./packages/core/src/platform/node.ts', import.meta.url)),
  '@tokenfetch/core/adapter': fileURLToPath(
    new URL('./packages/core/src/adapter.ts', import.meta.url),
  ),
  '@tokenfetch/core': source('core'),
  '@tokenfetch/mock-upstream': source('mock-upstream'),
  '@tokenfetch/express': source('express'),
  '@tokenfetch/fastify': source('fastify'),
  '@tokenfetch/koa': source('koa'),
  '@tokenfetch/nestjs': source('nestjs'),
  '@tokenfetch/hono': source('hono'),
  '@tokenfetch/redis': source('redis'),
  '@tokenfetch/cli': source('cli'),
  '@tokenfetch/opentelemetry': source('opentelemetry'),
  '@tokenfetch/oauth2': source('oauth2'),
  // A private workspace package of TypeScript sources: the OAuth authorization-server fixture.
  '@tokenfetch/test-oauth': fileURLToPath(new URL('./test/oauth/src/index.ts', import.meta.url)),
};

// NestJS 12 for the adapter contract: its own workspace package (test/nestjs-v12), as Nest's
// packages find each other by name, and aliases that send the harness and
// @tokenfetch/nestjs's sources to it instead of the NestJS 11 everything else uses.
const nest12 = (pkg: string) =>
  fileURLToPath(new URL(`./test/nestjs-v12/node_modules/@nestjs/${pkg}`, import.meta.url));
const nest12Suites = 'test/nestjs-v12/**/*.test.ts';

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'tokenfetch',
          include: [
            'packages/*/test/**/*.test.ts',
            'test/**/*.test.ts',
            'examples/*/test/**/*.test.ts',
          ],
          exclude: ['**/node_modules/**', nest12Suites],
        },
      },
      {
        extends: true,
        resolve: {
          alias: {
            '@nestjs/common': nest12('common'),
            '@nestjs/core': nest12('core'),
            '@nestjs/platform-express': nest12('platform-express'),
            '@nestjs/testing': nest12('testing'),
          },
        },
        test: { name: 'nestjs-v12', include: [nest12Suites], typecheck: { enabled: false } },
      },
    ],
    testTimeout: 20_000,
    typecheck: {
      enabled: true,
      include: ['test/types/**/*.test-d.ts'],
      tsconfig: './test/types/tsconfig.json',
    },
    coverage: {
      provider: 'v8',
      include: ['packages/*/src/**/*.ts'],
      exclude: ['packages/*/src/bin.ts'],
      reporter: ['text', 'text-summary'],
      thresholds: {
        'packages/core/src/**': { lines: 90, branches: 90 },
        'packages/opentelemetry/src/**': { lines: 90, branches: 90 },
      },
    },
  },
});
