// The matrix's app on workerd with one token for every isolate: `authMiddleware()` at
// module scope with the Durable Object store (the binding `TOKENS`, read from
// `cloudflare:workers`, which offers the bindings at module scope), as the Cloudflare
// package's README shows. A JavaScript file: its imports are workerd's, which the
// repository's Node typecheck does not know.
import { durableObjectStore } from '@tokenfetch/cloudflare';
import { loadOptionsFromEnv } from '@tokenfetch/core';
import { env } from 'cloudflare:workers';
import { countEvent, createApp, instrument } from './app.js';

export { TokenfetchStore } from '@tokenfetch/cloudflare';

export default instrument(
  createApp({
    ...loadOptionsFromEnv(),
    store: durableObjectStore(env.TOKENS),
    onEvent: countEvent,
  }),
);
