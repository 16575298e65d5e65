import Fastify from 'fastify-v4-0';
import { runAdapterContract } from './contract.js';
import { fastifyHarness, fastifyHttp2Harness } from './fastify-harness.js';

// The oldest release the peer range admits.
runAdapterContract('Fastify 4.0.0', fastifyHarness(Fastify), {
  http2: fastifyHttp2Harness(Fastify),
});
