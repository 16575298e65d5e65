export {
  durableObjectStore,
  type DurableObjectNamespaceLike,
  type DurableObjectStoreOptions,
} from './durable-object-store.js';
export { TokenfetchStore } from './tokenfetch-store.js';
