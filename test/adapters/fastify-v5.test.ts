import Fastify from 'fastify-v5';
import { runAdapterContract } from './contract.js';
import { fastifyHarness, fastifyHttp2Harness } from './fastify-harness.js';

runAdapterContract('Fastify 5', fastifyHarness(Fastify), { http2: fastifyHttp2Harness(Fastify) });
