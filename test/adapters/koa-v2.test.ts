import Koa from 'koa-v2';
import { runAdapterContract } from './contract.js';
import { koaHarness, koaHttp2Harness } from './koa-harness.js';

runAdapterContract('Koa 2', koaHarness(Koa), { http2: koaHttp2Harness(Koa) });
