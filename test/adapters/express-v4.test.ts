import express from 'express-v4';
import { runAdapterContract } from './contract.js';
import { expressHarness } from './express-harness.js';

runAdapterContract('Express 4', expressHarness(express));
