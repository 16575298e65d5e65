// The matrix's app on workerd: the Hono example's portable app, whose `authMiddleware()`
// reads the worker's text bindings through `process.env` (nodejs_compat).
import { instrument } from './app.js';
import { app } from '../../../examples/hono/src/portable.js';

export default instrument(app);
