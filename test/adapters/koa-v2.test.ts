import Koa from 'koa-v2';
import { runAdapterContract } from './contract.js';
import { koaHarness } from './koa-harness.js';

runAdapterContract('Koa 2', koaHarness(Koa));
