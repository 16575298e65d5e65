import Koa from 'koa-v3';
import { runAdapterContract } from './contract.js';
import { koaHarness } from './koa-harness.js';

runAdapterContract('Koa 3', koaHarness(Koa));
