import { runAdapterContract } from './contract.js';
import { nestHarness } from './nestjs-harness.js';

runAdapterContract('NestJS 11 (Express)', nestHarness());
runAdapterContract('NestJS 11 (Express), request-scoped ApiFetch', nestHarness('injected'));
