import { UnrecoverableError } from 'bullmq';
import type { Queues } from '../queues';
import { employeeRemovedSchema, linkChangedSchema, newDetectedSchema } from '../queues/member-events';
import { createDetectionRecorder } from '../src/events/member-events';
import type { Logger } from '../src/logger';
import { followLink, followRemoval, type GateEventDeps } from '../src/timesheets/gate-events';
import { parsePayload, type AnyJob } from './jobs';

/**
 * Processor of the `member-events` queue. Events are hints (src/sync/events.ts): consumers
 * read the stored state rather than trusting the payload.
 * - member.new_detected: recorded once per employee (jobs running at the same time share one
 *   insert, see createDetectionRecorder); may queue the org's auto-import.
 * - member.link_changed / qbo.employee_removed: the export gate follows the member's link;
 *   entries held back for a member whose link opened again are exported.
 */
export interface MemberEventDeps extends GateEventDeps {
  queues: Queues;
  logger: Logger;
}

export function createMemberEventProcessor(deps: MemberEventDeps) {
  const detections = createDetectionRecorder(deps.queues);
  return async function process(job: AnyJob): Promise<unknown> {
    switch (job.name) {
      case 'member.new_detected':
        return detections.record(parsePayload(newDetectedSchema, job.data));
      case 'member.link_changed': {
        const e = parsePayload(linkChangedSchema, job.data);
        return followLink(deps, e);
      }
      case 'qbo.employee_removed': {
        const e = parsePayload(employeeRemovedSchema, job.data);
        await followRemoval(deps, e);
        return { orgId: e.orgId, qboId: e.qboId };
      }
      default:
        throw new UnrecoverableError(`Unknown job ${String(job.name)} on the member-events queue`);
    }
  };
}
