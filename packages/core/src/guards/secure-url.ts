const loopback = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/** Whether `hostname` is a loopback host: traffic to it stays on this machine. */
export function isLoopback(hostname: string): boolean {
  return loopback.test(hostname);
}

/**
 * Plain http to a host that is not loopback, without `allowInsecureHttp`: credentials
 * would cross the network in clear. The rule of `baseUrl`, `allowedOrigins` and a
 * strategy's `loginUrl`.
 */
export function isInsecure(url: URL, allowInsecureHttp: boolean): boolean {
  return url.protocol === 'http:' && !allowInsecureHttp && !isLoopback(url.hostname);
}
