import Fastify from 'fastify-v5';
import { runAdapterContract } from './contract.js';
import { fastifyHarness } from './fastify-harness.js';

runAdapterContract('Fastify 5', fastifyHarness(Fastify));
