import {
  context,
  metrics,
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
  type Attributes,
  type Counter,
  type Histogram,
  type MeterProvider,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import type {
  LoginEvent,
  LoginFailedEvent,
  LoginRetryEvent,
  TokenFetchEvent,
} from '@tokenfetch/core';
import { clientInstance } from '@tokenfetch/core/adapter';
import {
  attributeNames as names,
  instrumentationScope,
  loginDurationBuckets,
  metricNames,
  spanEventNames,
  spanNames,
} from './names.js';

/** Options of `openTelemetry()`. */
export interface OpenTelemetryOptions {
  /**
   * Where the `tokenfetch.login` spans go.
   * @default the global tracer provider (`trace.getTracerProvider()`)
   */
  tracerProvider?: TracerProvider;
  /**
   * Where the metrics go.
   * @default the global meter provider, as it is at the first event
   */
  meterProvider?: MeterProvider;
}

interface Instruments {
  tracer: Tracer;
  logins: Counter;
  loginFailures: Counter;
  reauths: Counter;
  storeErrors: Counter;
  loginDuration: Histogram;
}

/**
 * The current token of each set of credentials, for the `tokenfetch.token.remaining`
 * gauge: one entry per `clientId`, while a client of it is open (the clients of one
 * `clientId`, told apart by core's `clientInstance`; a pool's tenant dropped and made again
 * has two for a moment). The last one's `close` drops the series.
 */
interface HeldToken {
  expiresAt: number;
  attributes: Attributes;
  clients: Set<number>;
}

/** The retries of the login in flight of one client, until its span is made. */
interface PendingRetries {
  startedAt: number;
  retries: Array<{ event: LoginRetryEvent; at: number }>;
}

/**
 * An `onEvent` listener that turns tokenfetch's events into OpenTelemetry spans and
 * metrics. Nothing secret reaches an attribute, a span event or a status: events carry
 * none, and only their codes, statuses and counts are read.
 *
 * - span `tokenfetch.login` per login, from the upstream or from the shared store: it
 *   starts when the login began, holds its retries as `tokenfetch.login.retry` events, and
 *   fails with status ERROR and `error.type` (the error code); a caller's login is a child
 *   of the caller's active span, a background refresh a trace of its own;
 * - span event `tokenfetch.reauth` on the span active when a call was re-authenticated;
 * - counters `tokenfetch.logins`, `tokenfetch.login.failures`, `tokenfetch.reauths`,
 *   `tokenfetch.store.errors`; histogram `tokenfetch.login.duration` (s); observable gauge
 *   `tokenfetch.token.remaining` (s until the current token of each client expires).
 *
 * @example
 * createApiClient({ baseUrl, auth, onEvent: openTelemetry() });
 * @example
 * authMiddleware({ baseUrl, auth, onEvent: [openTelemetry({ meterProvider }), log] });
 */
export function openTelemetry(
  options: OpenTelemetryOptions = {},
): (event: TokenFetchEvent) => void {
  const tokens = new Map<string, HeldToken>();
  const pending = new Map<string, PendingRetries>();
  // Made at the first event: the global providers are often registered after the client
  // (and the global meter provider, unlike the tracer provider, is not a proxy).
  let instruments: Instruments | undefined;

  function create(): Instruments {
    const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(
      instrumentationScope,
    );
    const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(
      instrumentationScope,
    );
    meter
      .createObservableGauge(metricNames.tokenRemaining, {
        description: 'Seconds until the current token of each client expires',
        unit: 's',
      })
      .addCallback((result) => {
        const now = Date.now();
        // 0 once the token has expired (its client is idle or closed) or a login failed
        // with none left: a series the SDK has seen stays, so it must go to 0, not vanish.
        for (const held of tokens.values()) {
          result.observe(Math.max(0, held.expiresAt - now) / 1000, held.attributes);
        }
      });
    return {
      tracer,
      logins: meter.createCounter(metricNames.logins, {
        description: 'Tokens obtained, by logging in or from the shared store',
      }),
      loginFailures: meter.createCounter(metricNames.loginFailures, {
        description: 'Logins that failed, after their retries',
      }),
      reauths: meter.createCounter(metricNames.reauths, {
        description:
          'Calls whose token was rejected, so the token was dropped and the call replayed',
      }),
      storeErrors: meter.createCounter(metricNames.storeErrors, {
        description: 'Token store operations that failed or were too slow',
      }),
      loginDuration: meter.createHistogram(metricNames.loginDuration, {
        description: 'How long a login took, retries and waits on the store included',
        unit: 's',
        advice: { explicitBucketBoundaries: loginDurationBuckets },
      }),
    };
  }

  function span(
    tracer: Tracer,
    event: LoginEvent | LoginFailedEvent,
    attributes: Attributes,
    key: string,
  ): void {
    const parent = event.background ? ROOT_CONTEXT : context.active();
    const login = tracer.startSpan(
      spanNames.login,
      { startTime: event.startedAt, attributes },
      parent,
    );
    const retries = pending.get(key);
    pending.delete(key);
    if (retries !== undefined && retries.startedAt === event.startedAt) {
      for (const { event: retry, at } of retries.retries) {
        login.addEvent(
          spanEventNames.loginRetry,
          {
            [names.attempt]: retry.attempt,
            [names.errorType]: retry.code,
            ...(retry.status === undefined ? {} : { [names.statusCode]: retry.status }),
          },
          at,
        );
      }
    }
    if (event.type === 'login_failed') {
      login.setStatus({ code: SpanStatusCode.ERROR, message: event.code });
    }
    login.end(event.startedAt + event.durationMs);
  }

  return (event) => {
    const tools = (instruments ??= create());
    const key = event.clientId ?? '';
    switch (event.type) {
      case 'login_retry': {
        const entry = pending.get(key);
        const at = Date.now();
        if (entry !== undefined && entry.startedAt === event.startedAt) {
          entry.retries.push({ event, at });
        } else {
          pending.set(key, { startedAt: event.startedAt, retries: [{ event, at }] });
        }
        return;
      }
      case 'login': {
        const source = { [names.source]: event.source };
        tools.logins.add(1, source);
        tools.loginDuration.record(event.durationMs / 1000, source);
        const clients = tokens.get(key)?.clients ?? new Set<number>();
        const instance = instanceOf(event);
        if (instance !== undefined) clients.add(instance);
        tokens.set(key, {
          expiresAt: event.expiresAt,
          attributes: clientAttributes(event),
          clients,
        });
        span(tools.tracer, event, { ...loginAttributes(event), ...source }, key);
        return;
      }
      case 'login_failed': {
        const failure = {
          [names.errorType]: event.code,
          ...(event.status === undefined ? {} : { [names.statusCode]: event.status }),
        };
        tools.loginFailures.add(1, failure);
        tools.loginDuration.record(event.durationMs / 1000, { [names.errorType]: event.code });
        // A caller's login runs only when there is no token to send.
        const held = tokens.get(key);
        if (!event.background && held !== undefined) held.expiresAt = 0;
        span(tools.tracer, event, { ...loginAttributes(event), ...failure }, key);
        return;
      }
      case 'reauth': {
        const reauth = { [names.statusCode]: event.status, [names.replayed]: event.replayed };
        tools.reauths.add(1, reauth);
        // Reported inside the call, so the caller's span (e.g. the HTTP server's) is active.
        trace.getActiveSpan()?.addEvent(spanEventNames.reauth, reauth);
        return;
      }
      case 'store_error':
        // Not the message: a store's own error text is not ours to vouch for.
        tools.storeErrors.add(1, { [names.storeOperation]: event.operation });
        return;
      case 'close': {
        const held = tokens.get(key);
        const instance = instanceOf(event);
        if (held === undefined || instance === undefined) return;
        held.clients.delete(instance);
        if (held.clients.size === 0) tokens.delete(key);
        return;
      }
      case 'refresh_ahead':
        return;
    }
  };
}

/** Which client object an event comes from (core numbers them), if it says. */
function instanceOf(event: TokenFetchEvent): number | undefined {
  const value = (event as { [clientInstance]?: unknown })[clientInstance];
  return typeof value === 'number' ? value : undefined;
}

function loginAttributes(event: LoginEvent | LoginFailedEvent): Attributes {
  return {
    ...(event.serverAddress === undefined ? {} : { [names.serverAddress]: event.serverAddress }),
    [names.background]: event.background,
  };
}

function clientAttributes(event: LoginEvent): Attributes {
  return {
    ...(event.serverAddress === undefined ? {} : { [names.serverAddress]: event.serverAddress }),
    ...(event.clientId === undefined ? {} : { [names.clientId]: event.clientId }),
  };
}
