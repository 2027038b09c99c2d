import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUE } from './names';
import type { ImportJobs } from './member-import';
import type { InviteJobs } from './member-invites';
import type { LinkJobs } from './member-links';
import type { MemberEventJobs } from './member-events';
import type { SyncJobs } from './sync';
import type { ExportJobs } from './timesheet-export';
import type { WebhookJobs } from './webhooks';

export * from './names';

/** Typed map from job name to payload, so `queue.add` is checked at compile time. */
export type TypedQueue<Jobs> = Queue<Jobs[keyof Jobs], unknown, Extract<keyof Jobs, string>>;

export interface Queues {
  sync: TypedQueue<SyncJobs>;
  memberEvents: TypedQueue<MemberEventJobs>;
  webhooks: TypedQueue<WebhookJobs>;
  memberImport: TypedQueue<ImportJobs>;
  memberInvites: TypedQueue<InviteJobs>;
  memberLinks: TypedQueue<LinkJobs>;
  timesheetExport: TypedQueue<ExportJobs>;
  all(): Queue[];
  close(): Promise<void>;
}

export function createQueues(connection: Redis, prefix: string): Queues {
  const make = <J>(name: string) => new Queue(name, { connection, prefix }) as TypedQueue<J>;
  const queues = {
    sync: make<SyncJobs>(QUEUE.sync),
    memberEvents: make<MemberEventJobs>(QUEUE.memberEvents),
    webhooks: make<WebhookJobs>(QUEUE.webhooks),
    memberImport: make<ImportJobs>(QUEUE.memberImport),
    memberInvites: make<InviteJobs>(QUEUE.memberInvites),
    memberLinks: make<LinkJobs>(QUEUE.memberLinks),
    timesheetExport: make<ExportJobs>(QUEUE.timesheetExport),
  };
  const all = () => Object.values(queues) as Queue[];
  return {
    ...queues,
    all,
    async close() {
      await Promise.all(all().map((q) => q.close()));
    },
  };
}
