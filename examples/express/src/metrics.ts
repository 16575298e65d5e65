// Prometheus metrics of tokenfetch (logins, failures, re-auths, store errors, login
// duration, token lifetime), served by the app itself rather than on a port of their own.
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { TokenFetchListener } from '@tokenfetch/core';
import { openTelemetry } from '@tokenfetch/opentelemetry';
import type { RequestHandler } from 'express';

/** An `onEvent` listener that records tokenfetch's metrics, and the `/metrics` route. */
export function prometheusMetrics(): { onEvent: TokenFetchListener; handler: RequestHandler } {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [exporter] });
  const handler: RequestHandler = (req, res) => exporter.getMetricsRequestHandler(req, res);
  return { onEvent: openTelemetry({ meterProvider }), handler };
}
