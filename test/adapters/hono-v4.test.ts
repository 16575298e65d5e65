import { Hono } from 'hono';
import { runAdapterContract } from './contract.js';
import { honoHarness } from './hono-harness.js';

runAdapterContract('Hono 4 on @hono/node-server', honoHarness(Hono));
// As on Bun, Deno or Workers: no Node response in c.env, only the request's signal.
runAdapterContract('Hono 4, request signal only', honoHarness(Hono, { env: 'none' }));
