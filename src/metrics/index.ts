import type { Redis } from 'ioredis';

/**
 * Counters and histograms shared by every process. Jobs run in worker processes while
 * `/metrics` is served by the API, so values live in Redis hashes under the queue prefix
 * (`<prefix>:metrics:<name>`, one field per label set) and the API reads them at scrape time
 * (src/metrics/registry.ts).
 *
 * Recording is synchronous and never awaited by callers: increments are summed in memory and
 * written every `flushMs` (default 250 ms) as one pipeline of HINCRBY / HINCRBYFLOAT, one
 * command per label set that moved, so a hot path (2,000 webhook deliveries a second) costs
 * no Redis round trip of its own. `flush()` writes now (the API calls it before a scrape, the
 * runtime on close). While Redis is not connected the sums wait for the next flush; after a
 * crash, at most `flushMs` of counts are lost.
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
  export_entries_total: {
    type: 'counter',
    help: 'Time entries timesheet exports ended, by outcome (exported, already_exported, blocked, failed) and reason (the block reason or Intuit code; "" otherwise)',
    labels: ['outcome', 'reason'],
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
  /** Writes what was recorded so far to Redis. */
  flush(): Promise<void>;
  /** Flushes and stops the timer. */
  close(): Promise<void>;
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

export function createMetrics(redis: Redis, prefix: string, opts: { flushMs?: number; onError?: (err: unknown) => void } = {}): Metrics {
  const flushMs = opts.flushMs ?? 250;
  const onError = opts.onError ?? (() => undefined);
  // key → field → pending increment (integers) / pending float increment (histogram sums)
  let ints = new Map<string, Map<string, number>>();
  let floats = new Map<string, Map<string, number>>();
  let timer: NodeJS.Timeout | null = null;
  let closed = false;

  const add = (into: Map<string, Map<string, number>>, key: string, field: string, by: number) => {
    let fields = into.get(key);
    if (!fields) into.set(key, (fields = new Map()));
    fields.set(field, (fields.get(field) ?? 0) + by);
  };
  const schedule = () => {
    if (timer || closed) return;
    timer = setTimeout(() => {
      timer = null;
      flush().catch(onError);
    }, flushMs);
    timer.unref();
  };

  async function flush(): Promise<void> {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (ints.size === 0 && floats.size === 0) return;
    // Not connected: keep the sums for the next flush instead of queueing commands in ioredis.
    if (redis.status !== 'ready') {
      schedule();
      return;
    }
    const [i, f] = [ints, floats];
    ints = new Map();
    floats = new Map();
    const pipe = redis.pipeline();
    for (const [key, fields] of i) for (const [field, by] of fields) pipe.hincrby(key, field, by);
    for (const [key, fields] of f) for (const [field, by] of fields) pipe.hincrbyfloat(key, field, by);
    const results = (await pipe.exec()) ?? [];
    for (const [err] of results) if (err) onError(err);
  }

  return {
    inc(name, labels, by = 1) {
      add(ints, metricsKey(prefix, name), labelField(name, labels), by);
      schedule();
    },
    observe(name, labels, seconds) {
      if (!Number.isFinite(seconds)) return;
      const field = labelField(name, labels);
      const key = metricsKey(prefix, name);
      add(ints, key, `${field}\tb${bucketIndex(METRICS[name].buckets, seconds)}`, 1);
      add(ints, key, `${field}\tcount`, 1);
      add(floats, key, `${field}\tsum`, seconds);
      schedule();
    },
    flush,
    async close() {
      closed = true;
      await flush().catch(onError);
    },
  };
}

/** Metrics that go nowhere: for code paths that run without Redis (unit tests, tools). */
export const noMetrics: Metrics = { inc: () => undefined, observe: () => undefined, flush: async () => undefined, close: async () => undefined };

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
