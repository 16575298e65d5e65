import * as common from '@nestjs/common';
import { expect, it } from 'vitest';
import { runAdapterContract } from './contract.js';
import { nestHarness } from './nestjs-harness.js';

runAdapterContract('NestJS 11 (Express)', nestHarness());
runAdapterContract('NestJS 11 (Express), request-scoped ApiFetch', nestHarness('injected'));

it('runs on NestJS 11', () => {
  expect(common).not.toHaveProperty('StandardSchemaValidationPipe'); // new in 12
});
