import { Agent, EnvHttpProxyAgent, type Dispatcher } from 'undici';
import { isLoopback } from '../guards/secure-url.js';
import { timeoutMsApplies } from '../shared/defaults.js';
import type { ConfigIssue } from '../shared/errors.js';

/** Proxy variables as curl and undici read them: the lower-case form first. */
const variables = {
  httpsProxy: ['https_proxy', 'HTTPS_PROXY'],
  httpProxy: ['http_proxy', 'HTTP_PROXY'],
  noProxy: ['no_proxy', 'NO_PROXY'],
} as const;

type Setting = keyof typeof variables;

/**
 * The proxy the environment asks for, as an undici `EnvHttpProxyAgent`: `HTTPS_PROXY` for
 * https URLs, `HTTP_PROXY` for http URLs (and for https ones when `HTTPS_PROXY` is unset,
 * as undici does), hosts in `NO_PROXY` reached directly. Read from `env`, not from
 * `process.env`. `undefined` when neither proxy is set; a value that is not an http(s)
 * URL is an issue named by its variable, never with the value (it may hold a password).
 * Loopback hosts are always reached directly, whatever `NO_PROXY` says (Go's
 * `ProxyFromEnvironment` rule): plain http is allowed to them only because it stays on this
 * machine, so a password or token sent there must never cross a proxy on another host.
 */
export function proxyFromEnv(
  env: Record<string, string | undefined>,
  issues: ConfigIssue[],
): Dispatcher | undefined {
  const read = (setting: Setting): { name: string; value: string } | undefined => {
    for (const name of variables[setting]) {
      const value = env[name]?.trim();
      if (value !== undefined && value !== '') return { name, value };
    }
    return undefined;
  };
  const httpsProxy = read('httpsProxy');
  const httpProxy = read('httpProxy');
  if (httpsProxy === undefined && httpProxy === undefined) return undefined;
  let valid = true;
  for (const proxy of [httpsProxy, httpProxy]) {
    if (proxy !== undefined && !isProxyUrl(proxy.value)) {
      issues.push({ path: proxy.name, message: 'must be the http:// or https:// URL of a proxy' });
      valid = false;
    }
  }
  if (!valid) return undefined;
  // '' rather than undefined: undici would read process.env for a setting left out.
  return new EnvProxyAgent({
    httpsProxy: httpsProxy?.value ?? '',
    httpProxy: httpProxy?.value ?? '',
    noProxy: read('noProxy')?.value ?? '',
  });
}

function isProxyUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * An `EnvHttpProxyAgent` that reaches loopback hosts directly, and does not show its
 * proxies when inspected: a proxy URL may carry a user and password, and options read from
 * the environment can be logged.
 */
class EnvProxyAgent extends EnvHttpProxyAgent {
  readonly #direct = new Agent();
  /** tokenfetch's own: the client's `timeoutMs` bounds its calls. */
  readonly [timeoutMsApplies] = true;

  override dispatch(
    options: Dispatcher.DispatchOptions,
    handler: Dispatcher.DispatchHandler,
  ): boolean {
    return onLoopback(options.origin)
      ? this.#direct.dispatch(options, handler)
      : super.dispatch(options, handler);
  }

  // Undici's own close() and destroy() without a callback call themselves again with one:
  // each form here hands the base class a callback, so that the two never loop.
  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    if (callback === undefined) return new Promise((resolve) => this.close(resolve));
    const closed = new Promise<void>((resolve) => super.close(resolve));
    void Promise.all([closed, this.#direct.close()]).then(callback, callback);
  }

  override destroy(): Promise<void>;
  override destroy(error: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(error: Error | null, callback: () => void): void;
  override destroy(first?: Error | null | (() => void), second?: () => void): Promise<void> | void {
    const error = typeof first === 'function' ? null : (first ?? null);
    const callback = typeof first === 'function' ? first : second;
    if (callback === undefined) return new Promise((resolve) => this.destroy(error, resolve));
    const destroyed = new Promise<void>((resolve) => super.destroy(error, () => resolve()));
    void Promise.all([destroyed, this.#direct.destroy(error)]).then(callback, callback);
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'EnvHttpProxyAgent { proxies from the environment; loopback hosts direct }';
  }
}

function onLoopback(origin: Dispatcher.DispatchOptions['origin']): boolean {
  if (origin === undefined) return false;
  try {
    return isLoopback(new URL(String(origin)).hostname);
  } catch {
    return false;
  }
}
