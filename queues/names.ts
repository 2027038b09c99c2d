/** Queue names: the contract between producers and workers. */
export const QUEUE = {
  sync: 'qbo-sync',
  memberEvents: 'member-events',
  webhooks: 'qbo-webhooks',
  memberImport: 'member-import',
  memberInvites: 'member-invites',
  memberLinks: 'member-links',
  timesheetExport: 'timesheet-export',
} as const;

export type QueueName = (typeof QUEUE)[keyof typeof QUEUE];
