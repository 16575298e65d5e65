import { Hono } from 'hono';
import { createAdaptorServer as nodeServerV2 } from 'hono-node-server-v2';
import { runAdapterContract } from './contract.js';
import { honoHarness } from './hono-harness.js';

runAdapterContract('Hono 4 on @hono/node-server 1', honoHarness(Hono));
runAdapterContract('Hono 4 on @hono/node-server 2', honoHarness(Hono, { serve: nodeServerV2 }));
// As on Bun, Deno or Workers: no Node response in c.env, only the request's signal.
runAdapterContract('Hono 4, request signal only', honoHarness(Hono, { env: 'none' }));
