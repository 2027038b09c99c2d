import type { JobsOptions } from 'bullmq';
import { z } from 'zod';

/** Events of the `member-events` queue, produced by syncs and admin actions (see src/sync/events.ts). */

const linkState = z.object({
  status: z.enum(['connected', 'disconnected', 'cannot_connect']),
  reason: z.string().nullable(),
  memberId: z.string().nullable(),
});

export const newDetectedSchema = z.object({
  orgId: z.string(),
  qboId: z.string(),
  employeeId: z.string(),
  syncRunId: z.string().nullable(),
  detectedAt: z.string(),
});

export const linkChangedSchema = z.object({
  orgId: z.string(),
  qboId: z.string(),
  employeeId: z.string(),
  version: z.number().int(),
  from: linkState,
  to: linkState,
  cause: z.enum(['sync', 'admin', 'import']),
  at: z.string(),
});

export const employeeRemovedSchema = z.object({
  orgId: z.string(),
  qboId: z.string(),
  employeeId: z.string(),
  memberId: z.string().nullable(),
  at: z.string(),
});

export type NewDetected = z.infer<typeof newDetectedSchema>;
export type LinkChanged = z.infer<typeof linkChangedSchema>;
export type EmployeeRemoved = z.infer<typeof employeeRemovedSchema>;

export interface MemberEventJobs {
  'member.new_detected': NewDetected;
  'member.link_changed': LinkChanged;
  'qbo.employee_removed': EmployeeRemoved;
}
export type MemberEventName = keyof MemberEventJobs;

// Deterministic ids: publishing the same event twice adds one job (while the first is kept).
export const eventJobId = {
  newDetected: (orgId: string, qboId: string) => `new_detected-${orgId}-${qboId}`,
  linkChanged: (orgId: string, qboId: string, version: number) => `link_changed-${orgId}-${qboId}-${version}`,
  employeeRemoved: (orgId: string, qboId: string) => `employee_removed-${orgId}-${qboId}`,
};

export const MEMBER_EVENT_OPTIONS: JobsOptions = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 2000 },
  // Kept a week so an event re-published within that time is recognised as a duplicate.
  removeOnComplete: { age: 7 * 24 * 3600 },
  removeOnFail: { age: 30 * 24 * 3600 },
};
