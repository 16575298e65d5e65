// Types from core's main entry where it has them: a project on TypeScript's legacy `node10`
// resolution (`"module": "commonjs"`, as in many Nest apps) cannot see subpaths.
import type { ApiFetch } from '@tokenfetch/core';

export type { ApiClient, ApiFetch } from '@tokenfetch/core';
export type { AuthMiddlewareOptions } from '@tokenfetch/core/adapter';
export { TokenfetchExceptionFilter } from './exception-filter.js';
export {
  TokenfetchModule,
  type TokenfetchModuleAsyncOptions,
  type TokenfetchModuleOptions,
} from './tokenfetch-module.js';
export { API_CLIENT, API_FETCH, ApiFetchParam, InjectApiClient, InjectApiFetch } from './tokens.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express's own augmentation point
  namespace Express {
    interface Request {
      /**
       * `fetch` against the configured API, always authenticated: a path resolves under
       * the base URL (`req.apiFetch('/user/users/me')`). Aborted when the client disconnects.
       */
      apiFetch: ApiFetch;
    }
  }
}
