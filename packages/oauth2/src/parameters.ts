import { ConfigError, type ConfigIssue } from '@tokenfetch/core';

/** The parameters a token is obtained for: each distinct set has its own token. */
export interface TokenParameters {
  /** Scopes, without duplicates, sorted: `'b a'` and `['a', 'b']` are one set. */
  readonly scope: readonly string[];
  /** Resource indicators (RFC 8707), absolute URLs without a fragment, sorted. */
  readonly resource: readonly string[];
}

const scopeToken = /^[\x21\x23-\x5B\x5D-\x7E]+$/; // RFC 6749 §3.3 scope-token

/** `scope` as a sorted list of distinct scope tokens; problems go to `issues` (never values). */
export function scopeList(value: unknown, path: string, issues: ConfigIssue[]): readonly string[] {
  if (value === undefined) return [];
  const parts =
    typeof value === 'string'
      ? value.split(' ').filter((part) => part !== '')
      : Array.isArray(value) && value.every((part) => typeof part === 'string')
        ? (value as string[])
        : undefined;
  if (parts === undefined || !parts.every((part) => scopeToken.test(part))) {
    issues.push({
      path,
      message: 'must be a space-separated string or a list of scope tokens (printable, no quotes)',
    });
    return [];
  }
  return [...new Set(parts)].sort();
}

/** `resource` as a sorted list of distinct absolute URLs without a fragment. */
export function resourceList(
  value: unknown,
  path: string,
  issues: ConfigIssue[],
): readonly string[] {
  if (value === undefined) return [];
  const parts =
    typeof value === 'string'
      ? [value]
      : Array.isArray(value) && value.every((part) => typeof part === 'string')
        ? (value as string[])
        : undefined;
  const valid =
    parts !== undefined &&
    parts.every((part) => {
      const url = URL.canParse(part) ? new URL(part) : undefined;
      return url !== undefined && url.hash === '' && !part.includes('#');
    });
  if (!valid) {
    issues.push({ path, message: 'must be an absolute URL without a fragment, or a list of them' });
    return [];
  }
  return [...new Set(parts)].sort();
}

/** The parameters of `client.as(options)`: `scope` and/or `resource`, nothing else. */
export function asParameters(options: object, base: TokenParameters): TokenParameters {
  const issues: ConfigIssue[] = [];
  const keys = Object.keys(options);
  if (keys.length === 0 || keys.some((key) => key !== 'scope' && key !== 'resource')) {
    issues.push({
      path: 'as.options',
      message: 'must be { scope?, resource? }, one of them at least',
    });
  }
  const given = options as { scope?: unknown; resource?: unknown };
  // `{ resource: undefined }` (an optional value passed on) is not given: the client's own
  // stays, rather than a token asked for without any.
  const scope = given.scope !== undefined ? scopeList(given.scope, 'as.scope', issues) : base.scope;
  const resource =
    given.resource !== undefined
      ? resourceList(given.resource, 'as.resource', issues)
      : base.resource;
  if (issues.length > 0) throw new ConfigError(issues, 'invalid client.as() options');
  return { scope, resource };
}

/** The parameters' part of a strategy's identity and of its `as()` key. */
export function parametersKey(parameters: TokenParameters): string {
  return JSON.stringify([parameters.scope, parameters.resource]);
}

/** The token request's body parameters: `scope` (space-separated) and each `resource`. */
export function requestParameters(parameters: TokenParameters): URLSearchParams {
  const body = new URLSearchParams();
  if (parameters.scope.length > 0) body.set('scope', parameters.scope.join(' '));
  for (const resource of parameters.resource) body.append('resource', resource);
  return body;
}
