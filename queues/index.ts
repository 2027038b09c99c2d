import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUE } from './names';
import type { MemberEventJobs } from './member-events';
import type { SyncJobs } from './sync';
import type { WebhookJobs } from './webhooks';

export * from './names';

/** Typed map from job name to payload, so `queue.add` is checked at compile time. */
export type TypedQueue<Jobs> = Queue<Jobs[keyof Jobs], unknown, Extract<keyof Jobs, string>>;

export interface Queues {
  sync: TypedQueue<SyncJobs>;
  memberEvents: TypedQueue<MemberEventJobs>;
  webhooks: TypedQueue<WebhookJobs>;
  all(): Queue[];
  close(): Promise<void>;
}

export function createQueues(connection: Redis, prefix: string): Queues {
  const sync = new Queue(QUEUE.sync, { connection, prefix }) as TypedQueue<SyncJobs>;
  const memberEvents = new Queue(QUEUE.memberEvents, { connection, prefix }) as TypedQueue<MemberEventJobs>;
  const webhooks = new Queue(QUEUE.webhooks, { connection, prefix }) as TypedQueue<WebhookJobs>;
  const all = [sync, memberEvents, webhooks] as Queue[];
  return {
    sync,
    memberEvents,
    webhooks,
    all: () => [...all],
    async close() {
      await Promise.all(all.map((q) => q.close()));
    },
  };
}
