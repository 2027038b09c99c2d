import type { Queues } from '../../queues';
import { MEMBER_EVENT_OPTIONS, type MemberEventJobs, type MemberEventName } from '../../queues/member-events';

/**
 * Events are queued BEFORE the state change they describe is written, under deterministic job
 * ids. A crash after queueing and before writing makes the retry compute the same change and
 * the same ids, which BullMQ ignores while the job is kept: nothing lost, nothing doubled.
 * (A transactional outbox in the employee documents would need one update per event, which
 * FerretDB's SQLite backend makes quadratic.) Consumers treat an event as a hint and read the
 * stored state.
 */
export interface PendingEvent<N extends MemberEventName = MemberEventName> {
  id: string;
  name: N;
  data: MemberEventJobs[N];
}

export async function publishEvents(queues: Queues, events: PendingEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 1000) {
    await queues.memberEvents.addBulk(
      events.slice(i, i + 1000).map((e) => ({ name: e.name, data: e.data, opts: { ...MEMBER_EVENT_OPTIONS, jobId: e.id } })),
    );
  }
}
