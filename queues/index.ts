import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUE } from './names';
import type { MemberEventJobs } from './member-events';
import type { SyncJobs } from './sync';

export * from './names';

/** Typed map from job name to payload, so `queue.add` is checked at compile time. */
export type TypedQueue<Jobs> = Queue<Jobs[keyof Jobs], unknown, Extract<keyof Jobs, string>>;

export interface Queues {
  sync: TypedQueue<SyncJobs>;
  memberEvents: TypedQueue<MemberEventJobs>;
  all(): Queue[];
  close(): Promise<void>;
}

export function createQueues(connection: Redis, prefix: string): Queues {
  const sync = new Queue(QUEUE.sync, { connection, prefix }) as TypedQueue<SyncJobs>;
  const memberEvents = new Queue(QUEUE.memberEvents, { connection, prefix }) as TypedQueue<MemberEventJobs>;
  return {
    sync,
    memberEvents,
    all: () => [sync, memberEvents] as Queue[],
    async close() {
      await Promise.all([sync.close(), memberEvents.close()]);
    },
  };
}
