import { createHash } from 'node:crypto';
import { Types } from 'mongoose';

/**
 * Deterministic ids make every step of an import safe to repeat: the member made from one QBO
 * employee always has the same id, so a retried or resubmitted import collides instead of
 * creating a second member.
 */
function objectIdFrom(text: string): Types.ObjectId {
  return new Types.ObjectId(createHash('sha256').update(text).digest('hex').slice(0, 24));
}

export const importedMemberId = (orgId: string, qboId: string) => objectIdFrom(`member:${orgId}:${qboId}`);

/** The auto-import one sync run's detections lead to. */
export const autoImportId = (orgId: string, syncRunId: string) => objectIdFrom(`auto-import:${orgId}:${syncRunId}`);
