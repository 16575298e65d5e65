import Fastify from 'fastify-v4';
import { runAdapterContract } from './contract.js';
import { fastifyHarness } from './fastify-harness.js';

runAdapterContract('Fastify 4', fastifyHarness(Fastify));
