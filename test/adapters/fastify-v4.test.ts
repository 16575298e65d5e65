import Fastify from 'fastify-v4';
import { runAdapterContract } from './contract.js';
import { fastifyHarness, fastifyHttp2Harness } from './fastify-harness.js';

runAdapterContract('Fastify 4', fastifyHarness(Fastify), { http2: fastifyHttp2Harness(Fastify) });
