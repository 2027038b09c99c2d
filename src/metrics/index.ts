import type { Redis } from 'ioredis';

/**
 * Counters and histograms shared by every process. Jobs run in worker processes while
 * `/metrics` is served by the API, so values live in Redis hashes under the queue prefix
 * (`<prefix>:metrics:<name>`, one field per label set) and the API reads them at scrape time
 * (src/metrics/registry.ts). Writing is fire-and-forget: one HINCRBY per counter event, one
 * pipelined HINCRBY/HINCRBYFLOAT/HINCRBY triple per observation, never awaited by callers.
 * While Redis is not connected, events are dropped rather than queued.
 */

export const METRICS = {
  jobs_total: {
    type: 'counter',
    help: 'Jobs that finished an attempt, by queue, job name and outcome (completed, failed, retrying)',
    labels: ['queue', 'job', 'outcome'],
  },
  job_duration_seconds: {
    type: 'histogram',
    help: 'Time a job attempt spent in a worker, by queue, job name and outcome',
    labels: ['queue', 'job', 'outcome'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
  },
  sync_runs_total: {
    type: 'counter',
    help: 'Sync runs that ended, by trigger, mode that ran and outcome (succeeded, failed)',
    labels: ['trigger', 'mode', 'outcome'],
  },
  sync_changes_total: {
    type: 'counter',
    help: 'What finished syncs changed, by kind (created, updated, deleted, link_changes, new_detected)',
    labels: ['kind'],
  },
  webhook_deliveries_total: {
    type: 'counter',
    help: 'QuickBooks webhook deliveries received by the API, by outcome',
    labels: ['outcome'],
  },
  webhook_events_total: {
    type: 'counter',
    help: 'Webhook events handled by the qbo-webhooks worker, by outcome',
    labels: ['outcome'],
  },
  qbo_requests_total: {
    type: 'counter',
    help: 'HTTP requests to Intuit (or the QBO sandbox), by kind and status (HTTP code, timeout, error)',
    labels: ['kind', 'status'],
  },
} as const;

type Defs = typeof METRICS;
export type MetricName = keyof Defs;
export type CounterName = { [K in MetricName]: Defs[K]['type'] extends 'counter' ? K : never }[MetricName];
export type HistogramName = { [K in MetricName]: Defs[K]['type'] extends 'histogram' ? K : never }[MetricName];
export type LabelsOf<N extends MetricName> = Record<Defs[N]['labels'][number], string>;

export interface Metrics {
  inc<N extends CounterName>(name: N, labels: LabelsOf<N>, by?: number): void;
  observe<N extends HistogramName>(name: N, labels: LabelsOf<N>, seconds: number): void;
}

export const metricsKey = (prefix: string, name: MetricName) => `${prefix}:metrics:${name}`;

const MAX_LABEL = 64;

/** The hash field of one label set: label values in declaration order, as a JSON array. */
export function labelField(name: MetricName, labels: Record<string, string>): string {
  return JSON.stringify(METRICS[name].labels.map((l) => String(labels[l] ?? '').slice(0, MAX_LABEL)));
}

/** Index of the first bucket whose upper bound holds `v`; buckets.length is the +Inf bucket. */
export function bucketIndex(buckets: readonly number[], v: number): number {
  for (let i = 0; i < buckets.length; i++) if (v <= (buckets[i] as number)) return i;
  return buckets.length;
}

export function createMetrics(redis: Redis, prefix: string, onError: (err: unknown) => void = () => undefined): Metrics {
  const ready = () => redis.status === 'ready';
  return {
    inc(name, labels, by = 1) {
      if (!ready()) return;
      redis.hincrby(metricsKey(prefix, name), labelField(name, labels), by).catch(onError);
    },
    observe(name, labels, seconds) {
      if (!ready() || !Number.isFinite(seconds)) return;
      const field = labelField(name, labels);
      const key = metricsKey(prefix, name);
      redis
        .pipeline()
        .hincrby(key, `${field}\tb${bucketIndex(METRICS[name].buckets, seconds)}`, 1)
        .hincrbyfloat(key, `${field}\tsum`, seconds)
        .hincrby(key, `${field}\tcount`, 1)
        .exec()
        .catch(onError);
    },
  };
}

/** Metrics that go nowhere: for code paths that run without Redis (unit tests, tools). */
export const noMetrics: Metrics = { inc: () => undefined, observe: () => undefined };

export interface Sample {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

function labelsFrom(name: MetricName, field: string): Record<string, string> | null {
  try {
    const values = JSON.parse(field) as unknown;
    if (!Array.isArray(values)) return null;
    const names = METRICS[name].labels;
    return Object.fromEntries(names.map((l, i) => [l, String(values[i] ?? '')]));
  } catch {
    return null;
  }
}

/**
 * Pure: a metric's stored hash → Prometheus samples. Histogram buckets are stored one per
 * range and summed here into Prometheus' cumulative `le` buckets.
 */
export function samplesFrom(name: MetricName, exposedName: string, hash: Record<string, string>): Sample[] {
  const def = METRICS[name];
  if (def.type === 'counter') {
    const out: Sample[] = [];
    for (const [field, raw] of Object.entries(hash)) {
      const labels = labelsFrom(name, field);
      if (labels) out.push({ metricName: exposedName, labels, value: Number(raw) });
    }
    return out;
  }
  const buckets = def.buckets;
  const series = new Map<string, { counts: number[]; sum: number; count: number }>();
  for (const [field, raw] of Object.entries(hash)) {
    const tab = field.lastIndexOf('\t');
    if (tab < 0) continue;
    const labelPart = field.slice(0, tab);
    const part = field.slice(tab + 1);
    let s = series.get(labelPart);
    if (!s) {
      s = { counts: new Array<number>(buckets.length + 1).fill(0), sum: 0, count: 0 };
      series.set(labelPart, s);
    }
    const v = Number(raw);
    if (part === 'sum') s.sum = v;
    else if (part === 'count') s.count = v;
    else if (part.startsWith('b')) {
      const i = Number(part.slice(1));
      if (Number.isInteger(i) && i >= 0 && i <= buckets.length) s.counts[i] = v;
    }
  }
  const out: Sample[] = [];
  for (const [labelPart, s] of series) {
    const labels = labelsFrom(name, labelPart);
    if (!labels) continue;
    let cumulative = 0;
    for (let i = 0; i <= buckets.length; i++) {
      cumulative += s.counts[i] ?? 0;
      const le = i < buckets.length ? String(buckets[i]) : '+Inf';
      out.push({ metricName: `${exposedName}_bucket`, labels: { ...labels, le }, value: cumulative });
    }
    out.push({ metricName: `${exposedName}_sum`, labels, value: s.sum });
    out.push({ metricName: `${exposedName}_count`, labels, value: s.count });
  }
  return out;
}
