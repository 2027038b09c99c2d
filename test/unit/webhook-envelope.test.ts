import { describe, expect, it } from 'vitest';
import { EnvelopeError, eventDedupeKey, groupByRealm, normalizeOperation, parseCloudEventType, parseEnvelope, parseJsonBody } from '../../src/webhooks/envelope';
import { buildWebhookBody } from '../../sandbox/webhooks';
import { fixtureJson, fixtureText } from '../helpers/qbo-fixtures';

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof EnvelopeError) return err.code;
    throw err;
  }
  return null;
};

describe('webhook envelopes', () => {
  it("reads Intuit's legacy sample as it is", () => {
    const d = parseEnvelope(fixtureJson('webhook-legacy.json'));
    expect(d.format).toBe('legacy');
    expect(d.unreadable).toBe(0);
    expect(d.events).toEqual([
      { realmId: '1185883450', entity: 'employee', entityId: '1', operation: 'created', time: '2015-10-05T14:42:19-0700', eventId: null },
      { realmId: '1185883450', entity: 'employee', entityId: '55', operation: 'updated', time: '2015-10-05T14:45:02-0700', eventId: null },
      { realmId: '1185883450', entity: 'customer', entityId: '7', operation: 'updated', time: '2015-10-05T14:45:10-0700', eventId: null },
    ]);
  });

  it("reads Intuit's CloudEvents sample as it is", () => {
    const d = parseEnvelope(fixtureJson('webhook-cloudevents.json'));
    expect(d.format).toBe('cloudevents');
    expect(d.events).toEqual([
      { realmId: '310687', entity: 'employee', entityId: '55', operation: 'updated', time: '2025-09-10T21:31:25.179851517Z', eventId: '88cd52aa-33b6-4351-9aa4-47572edbd068' },
      { realmId: '310687', entity: 'employee', entityId: '88', operation: 'created', time: '2025-09-10T21:31:27.002114000Z', eventId: '0b6b2b0e-7d1c-4c59-9a43-3f0f6f1d2a11' },
    ]);
  });

  it('takes a single CloudEvent object as a batch of one', () => {
    const one = (fixtureJson('webhook-cloudevents.json') as unknown[])[0];
    expect(parseEnvelope(one).events).toHaveLength(1);
  });

  it('reads what the sandbox sends, in both formats, several realms in one delivery', () => {
    const events = [
      { realmId: '1', id: '10', operation: 'Merge' },
      { realmId: '2', id: '20', operation: 'Delete' },
      { realmId: '1', id: '11', operation: 'Update', entity: 'Customer' },
    ];
    for (const format of ['legacy', 'cloudevents'] as const) {
      const d = parseEnvelope(JSON.parse(buildWebhookBody(format, events)));
      expect(d.events.map((e) => [e.realmId, e.entity, e.entityId, e.operation])).toEqual(
        format === 'legacy'
          ? [['1', 'employee', '10', 'merged'], ['1', 'customer', '11', 'updated'], ['2', 'employee', '20', 'deleted']]
          : [['1', 'employee', '10', 'merged'], ['2', 'employee', '20', 'deleted'], ['1', 'customer', '11', 'updated']],
      );
    }
  });

  it('accepts empty batches', () => {
    expect(parseEnvelope([]).events).toEqual([]);
    expect(parseEnvelope({ eventNotifications: [] }).events).toEqual([]);
  });

  it('counts unreadable entries instead of failing the delivery', () => {
    const legacy = parseEnvelope({
      eventNotifications: [
        { realmId: '5', dataChangeEvent: { entities: [{ name: 'Employee', id: '1', operation: 'Update' }, { name: 'Employee', operation: 'Update' }, 'x'] } },
        { dataChangeEvent: { entities: [] } },
        { realmId: '6' },
        null,
      ],
    });
    expect(legacy.events).toHaveLength(1);
    expect(legacy.events[0]?.time).toBeNull();
    expect(legacy.unreadable).toBe(5);
    const ce = parseEnvelope([
      { id: 'a', type: 'qbo.employee.updated.v1', intuitaccountid: '5', intuitentityid: '1' },
      { id: 'b', type: 'not.a.qbo.type', intuitaccountid: '5' },
      { type: 'qbo.employee.updated.v1', intuitaccountid: '5' },
      { id: 'c', type: 'qbo.employee.updated.v1' },
      7,
    ]);
    expect(ce.events.map((e) => e.eventId)).toEqual(['a']);
    expect(ce.unreadable).toBe(4);
  });

  it('takes a numeric realm id as text', () => {
    expect(parseEnvelope({ eventNotifications: [{ realmId: 123, dataChangeEvent: { entities: [{ name: 'Employee', id: 9, operation: 'Create' }] } }] }).events[0]).toMatchObject({ realmId: '123', entityId: '9' });
  });

  it('refuses JSON that is neither envelope', () => {
    for (const body of [{}, { hello: 1 }, 'text', 42, null, { eventNotifications: {} }]) {
      expect(code(() => parseEnvelope(body)), JSON.stringify(body)).toBe('unrecognised_envelope');
    }
  });

  it('refuses bodies that are not JSON, truncated or empty', () => {
    const full = fixtureText('webhook-cloudevents.json');
    for (const raw of ['', 'not json', full.slice(0, full.length - 5), '{"a":', '\u0000']) {
      expect(code(() => parseJsonBody(Buffer.from(raw))), raw.slice(0, 20)).toBe('invalid_json');
    }
    expect(parseJsonBody(Buffer.from(full))).toEqual(fixtureJson('webhook-cloudevents.json'));
  });

  it('maps legacy operations to CloudEvents verbs and parses CloudEvents types', () => {
    expect(['Create', 'Update', 'Delete', 'Merge', 'Void', 'Emailed', 'Weird'].map(normalizeOperation)).toEqual(['created', 'updated', 'deleted', 'merged', 'voided', 'emailed', 'weird']);
    expect(parseCloudEventType('qbo.employee.merged.v1')).toEqual({ entity: 'employee', operation: 'merged' });
    expect(parseCloudEventType('qbo.TimeActivity.created.v12')).toEqual({ entity: 'timeactivity', operation: 'created' });
    expect(parseCloudEventType('qbo.employee.updated')).toEqual({ entity: 'employee', operation: 'updated' });
    expect(parseCloudEventType('com.other.thing')).toBeNull();
  });

  it('de-duplicates CloudEvents on their id and legacy events on all their fields', () => {
    const base = { realmId: '1', entity: 'employee', entityId: '5', operation: 'updated', time: 't1', eventId: null };
    expect(eventDedupeKey(base)).toBe(eventDedupeKey({ ...base }));
    for (const change of [{ realmId: '2' }, { entity: 'customer' }, { entityId: '6' }, { operation: 'deleted' }, { time: 't2' }]) {
      expect(eventDedupeKey({ ...base, ...change })).not.toBe(eventDedupeKey(base));
    }
    const ce = { ...base, eventId: 'x' };
    expect(eventDedupeKey({ ...ce, time: 'other' })).toBe(eventDedupeKey(ce));
    expect(eventDedupeKey(ce)).not.toBe(eventDedupeKey({ ...ce, eventId: 'y' }));
  });

  it('groups events by their own realm, first seen first', () => {
    const e = (realmId: string, entityId: string) => ({ realmId, entity: 'employee', entityId, operation: 'updated', time: null, eventId: null });
    const g = groupByRealm([e('b', '1'), e('a', '2'), e('b', '3')]);
    expect([...g.keys()]).toEqual(['b', 'a']);
    expect(g.get('b')?.map((x) => x.entityId)).toEqual(['1', '3']);
  });
});
