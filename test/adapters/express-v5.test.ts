import express from 'express-v5';
import { runAdapterContract } from './contract.js';
import { expressHarness } from './express-harness.js';

runAdapterContract('Express 5', expressHarness(express));
