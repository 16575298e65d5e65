import Fastify from 'fastify-v4-0';
import { runAdapterContract } from './contract.js';
import { fastifyHarness } from './fastify-harness.js';

runAdapterContract('Fastify 4.0.0', fastifyHarness(Fastify));
