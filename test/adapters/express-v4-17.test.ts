// The oldest Express the adapter's peer range (^4.17.0) admits; express-v4.test.ts runs the newest 4.x.
import express from 'express-v4-17';
import { runAdapterContract } from './contract.js';
import { expressHarness } from './express-harness.js';

runAdapterContract('Express 4.17.0', expressHarness(express));
