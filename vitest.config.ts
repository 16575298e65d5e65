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
  // A private workspace package of TypeScript sources: the OAuth authorization-server fixture.
  '@tokenfetch/test-oauth': fileURLToPath(new URL('./test/oauth/src/index.ts', import.meta.url)),
};

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts', 'examples/*/test/**/*.test.ts'],
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
