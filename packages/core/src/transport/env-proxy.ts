import { EnvHttpProxyAgent, type Dispatcher } from 'undici';
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
 * An `EnvHttpProxyAgent` that does not show its proxies when inspected: a proxy URL may
 * carry a user and password, and options read from the environment can be logged.
 */
class EnvProxyAgent extends EnvHttpProxyAgent {
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return 'EnvHttpProxyAgent { proxies from the environment }';
  }
}
