/** A resource server (an API) the authorization server issues access tokens for (RFC 8707). */
export interface ResourceDefinition {
  /** The scopes it defines, space-separated; an access token for it carries only these. */
  readonly scope: string;
  /** Lifetime of its access tokens, in seconds. @default the server's `accessTokenTtl` */
  readonly accessTokenTtl?: number;
}

/** The resource indicator of a server started without `resources`. */
export const defaultResourceIndicator = 'https://api.tokenfetch.test';

/** The resources of a server started without `resources`. */
export const defaultResources: Readonly<Record<string, ResourceDefinition>> = {
  [defaultResourceIndicator]: { scope: 'read write' },
};

/** The resource table of one authorization server, and the default a request falls back to. */
export class Resources {
  readonly default: string;
  readonly #table: ReadonlyMap<string, ResourceDefinition>;

  constructor(table: Readonly<Record<string, ResourceDefinition>>, defaultResource?: string) {
    this.#table = new Map(Object.entries(table));
    const first = this.#table.keys().next();
    this.default = defaultResource ?? (first.done === true ? '' : first.value);
    if (!this.#table.has(this.default)) {
      throw new RangeError(`the default resource ${this.default} is not one of the resources`);
    }
  }

  /** The definition of `indicator`, or `undefined` when this server does not know it. */
  get(indicator: string): ResourceDefinition | undefined {
    return this.#table.get(indicator);
  }
}
