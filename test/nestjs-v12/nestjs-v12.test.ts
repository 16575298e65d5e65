import * as common from '@nestjs/common';
import { expect, it } from 'vitest';
import { runAdapterContract } from '../adapters/contract.js';
import { nestHarness } from '../adapters/nestjs-harness.js';

// @nestjs/* is NestJS 12 (ESM only) here: see the nestjs-v12 project in vitest.config.ts.
it('runs on NestJS 12', () => {
  expect(common).toHaveProperty('StandardSchemaValidationPipe'); // new in 12
});

runAdapterContract('NestJS 12 (Express)', nestHarness());
runAdapterContract('NestJS 12 (Express), request-scoped ApiFetch', nestHarness('injected'));
