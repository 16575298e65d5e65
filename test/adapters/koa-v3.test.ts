import Koa from 'koa-v3';
import { runAdapterContract } from './contract.js';
import { koaHarness, koaHttp2Harness } from './koa-harness.js';

runAdapterContract('Koa 3', koaHarness(Koa), { http2: koaHttp2Harness(Koa) });
