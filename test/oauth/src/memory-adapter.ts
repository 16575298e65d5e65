import type { Adapter, AdapterPayload } from 'oidc-provider';

interface Entry {
  payload: AdapterPayload;
  /** Epoch milliseconds after which the entry is gone; `Infinity` when oidc-provider gave no TTL. */
  expiresAt: number;
}

/** Entries by `Model:id`, e.g. `RefreshToken:…`, `Grant:…`. */
type Entries = Map<string, Entry>;

/**
 * oidc-provider's storage (grants, refresh tokens, DPoP and client-assertion `jti`s), in
 * memory and private to one authorization server. oidc-provider has a development adapter
 * of its own, but it is shared by every provider in the process and warns on start; this
 * is its interface (`Adapter`) in the smallest form, one instance per model name over the
 * entries of one server.
 */
export class MemoryStore {
  readonly #entries: Entries = new Map();

  /** The adapter class oidc-provider instantiates once per model name (`new Adapter('RefreshToken')`). */
  adapterClass(): new (model: string) => Adapter {
    const entries = this.#entries;
    return class implements Adapter {
      readonly #model: string;
      constructor(model: string) {
        this.#model = model;
      }
      async upsert(id: string, payload: AdapterPayload, expiresIn?: number) {
        const expiresAt = expiresIn === undefined ? Infinity : Date.now() + expiresIn * 1000;
        entries.set(`${this.#model}:${id}`, { payload, expiresAt });
      }
      async find(id: string) {
        return find(entries, `${this.#model}:${id}`);
      }
      async findByUid(uid: string) {
        return findWhere(entries, this.#model, (payload) => payload.uid === uid);
      }
      async findByUserCode(userCode: string) {
        return findWhere(entries, this.#model, (payload) => payload.userCode === userCode);
      }
      async consume(id: string) {
        const payload = find(entries, `${this.#model}:${id}`);
        if (payload !== undefined) payload.consumed = Math.floor(Date.now() / 1000);
      }
      async destroy(id: string) {
        entries.delete(`${this.#model}:${id}`);
      }
      async revokeByGrantId(grantId: string) {
        revokeGrant(entries, grantId);
      }
    };
  }

  /** Deletes the grant and every token issued under it (refresh tokens, access tokens). */
  revokeGrant(grantId: string): void {
    revokeGrant(this.#entries, grantId);
  }
}

function find(entries: Entries, key: string): AdapterPayload | undefined {
  const entry = entries.get(key);
  if (entry === undefined) return undefined;
  if (Date.now() >= entry.expiresAt) {
    entries.delete(key);
    return undefined;
  }
  return entry.payload;
}

function findWhere(entries: Entries, model: string, match: (payload: AdapterPayload) => boolean) {
  for (const [key, entry] of entries) {
    if (key.startsWith(`${model}:`) && match(entry.payload)) return find(entries, key);
  }
  return undefined;
}

function revokeGrant(entries: Entries, grantId: string): void {
  for (const [key, entry] of entries) {
    if (entry.payload.grantId === grantId || key === `Grant:${grantId}`) entries.delete(key);
  }
}
