import type { Attributes, HrTime } from '@opentelemetry/api';
import {
  AggregationTemporality,
  MeterProvider,
  MetricReader,
  type DataPoint,
  type Histogram,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { createApiClient, type ApiClient, type ApiClientOptions } from '@tokenfetch/core';
import { DEMO_USER, startMockUpstream, type MockUpstream } from '@tokenfetch/mock-upstream';
import type { MockUpstreamOptions } from '@tokenfetch/mock-upstream';
import { afterEach } from 'vitest';

type Closer = () => Promise<unknown> | unknown;
const closers: Closer[] = [];

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** Runs `close` after the current test (last registered, first run). */
export function onCleanup(close: Closer): void {
  closers.push(close);
}

/** A mock upstream on port 0, closed after the test. */
export async function startMock(options: MockUpstreamOptions = {}): Promise<MockUpstream> {
  const mock = await startMockUpstream(options);
  onCleanup(() => mock.close());
  return mock;
}

/** A client of `mock` with the demo user (override anything), closed after the test. */
export function clientFor(
  mock: Pick<MockUpstream, 'baseUrl'>,
  options: Partial<ApiClientOptions> = {},
): ApiClient {
  const client = createApiClient({
    baseUrl: mock.baseUrl,
    auth: { email: DEMO_USER.email, password: DEMO_USER.password, orgId: 1 },
    ...options,
  });
  onCleanup(() => client.close());
  return client;
}

/** A reader that exports nothing: the test collects when it wants to look. */
class CollectingReader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

/** One data point of a metric, as the test reads it. */
export interface Point {
  attributes: Attributes;
  value: number | Histogram;
}

export interface Telemetry {
  tracerProvider: BasicTracerProvider;
  meterProvider: MeterProvider;
  /** The spans ended so far. */
  spans(): ReadableSpan[];
  /** Collects every metric now: name → its data points. */
  metrics(): Promise<Map<string, { unit: string; points: Point[] }>>;
}

/** A tracer provider with an in-memory exporter and a meter provider the test collects. */
/**
 * A tracer and a meter provider that keep what they get. `temporality`: the reader's, for
 * every instrument (cumulative, the SDK's default, unless told).
 */
export function startTelemetry(
  temporality: AggregationTemporality = AggregationTemporality.CUMULATIVE,
): Telemetry {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const reader = new CollectingReader({ aggregationTemporalitySelector: () => temporality });
  const meterProvider = new MeterProvider({ readers: [reader] });
  onCleanup(async () => {
    await tracerProvider.shutdown();
    await meterProvider.shutdown();
  });
  return {
    tracerProvider,
    meterProvider,
    spans: () => exporter.getFinishedSpans(),
    async metrics() {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw new AggregateError(errors, 'metric collection failed');
      const byName = new Map<string, { unit: string; points: Point[] }>();
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics) {
          const points = (metric.dataPoints as DataPoint<number | Histogram>[]).map((point) => ({
            attributes: point.attributes,
            value: point.value,
          }));
          byName.set(metric.descriptor.name, { unit: metric.descriptor.unit, points });
        }
      }
      return byName;
    },
  };
}

/** The sum of a counter's points whose attributes include `match`. */
export function total(
  metrics: Map<string, { points: Point[] }>,
  name: string,
  match: Attributes = {},
): number {
  return (metrics.get(name)?.points ?? [])
    .filter((point) =>
      Object.entries(match).every(([key, value]) => point.attributes[key] === value),
    )
    .reduce((sum, point) => sum + (typeof point.value === 'number' ? point.value : 0), 0);
}

/** Epoch ms of an `HrTime`. */
export function millis(time: HrTime): number {
  return time[0] * 1_000 + time[1] / 1_000_000;
}
