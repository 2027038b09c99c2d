import { describe, expect, it } from 'vitest';
import { bucketIndex, labelField, METRICS, samplesFrom } from '../../src/metrics';

describe('metrics encoding', () => {
  it('keeps label values in declaration order, bounded', () => {
    expect(labelField('qbo_requests_total', { status: '200', kind: 'cdc' })).toBe('["cdc","200"]');
    expect(labelField('qbo_requests_total', { kind: 'x'.repeat(100), status: '' })).toBe(`["${'x'.repeat(64)}",""]`);
  });

  it('finds the bucket of a value (upper bounds inclusive, the last one +Inf)', () => {
    const b = [0.1, 1, 10];
    expect([0, 0.1, 0.11, 1, 5, 10, 11].map((v) => bucketIndex(b, v))).toEqual([0, 0, 1, 1, 2, 2, 3]);
  });

  it('turns a counter hash into samples', () => {
    expect(samplesFrom('webhook_deliveries_total', 'qms_webhook_deliveries_total', { '["accepted"]': '3', '["signature_invalid"]': '1', garbage: '9' })).toEqual([
      { metricName: 'qms_webhook_deliveries_total', labels: { outcome: 'accepted' }, value: 3 },
      { metricName: 'qms_webhook_deliveries_total', labels: { outcome: 'signature_invalid' }, value: 1 },
    ]);
  });

  it('turns per-range histogram counts into cumulative buckets, sum and count', () => {
    const buckets = METRICS.job_duration_seconds.buckets;
    const f = labelField('job_duration_seconds', { queue: 'q', job: 'j', outcome: 'completed' });
    const hash = { [`${f}\tb0`]: '2', [`${f}\tb2`]: '1', [`${f}\tb${buckets.length}`]: '1', [`${f}\tsum`]: '400.5', [`${f}\tcount`]: '4' };
    const s = samplesFrom('job_duration_seconds', 'x', hash);
    const bucketsOut = s.filter((x) => x.metricName === 'x_bucket');
    expect(bucketsOut).toHaveLength(buckets.length + 1);
    expect(bucketsOut.map((x) => x.value)).toEqual([2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4]);
    expect(bucketsOut.at(-1)?.labels).toEqual({ queue: 'q', job: 'j', outcome: 'completed', le: '+Inf' });
    expect(s.find((x) => x.metricName === 'x_sum')?.value).toBe(400.5);
    expect(s.find((x) => x.metricName === 'x_count')?.value).toBe(4);
  });
});
