import { Types } from 'mongoose';
import { DomainError } from '../errors';
import { Organization, type OrganizationDoc, type Plan } from '../db/models';

export interface NewOrganization {
  name: string;
  plan?: Plan;
  seatLimit?: number | null;
  syncIntervalMinutes?: number | null;
  autoImport?: boolean;
  inviteByDefault?: boolean;
}

/** The most seats a paid plan may have; the CLI and the API refuse more with invalid_seat_limit. */
export const MAX_SEAT_LIMIT = 1_000_000;

export async function createOrganization(input: NewOrganization): Promise<OrganizationDoc> {
  const name = input.name?.trim();
  if (!name) throw new DomainError('invalid_name', 'An organisation needs a name');
  const plan = input.plan ?? 'free';
  if (plan !== 'free' && plan !== 'paid') throw new DomainError('invalid_plan', `Unknown plan "${String(plan)}" (free or paid)`);
  // Checked whatever the plan: a bad number is a mistake to report, not something to drop.
  const given = input.seatLimit ?? null;
  if (given !== null && (typeof given !== 'number' || !Number.isInteger(given) || given < 0 || given > MAX_SEAT_LIMIT)) {
    throw new DomainError('invalid_seat_limit', `The seat limit must be a whole number from 0 to ${MAX_SEAT_LIMIT}`);
  }
  if (plan === 'paid' && given === null) throw new DomainError('invalid_seat_limit', 'A paid plan needs a whole, non-negative number of seats');
  // Free plans are unlimited: a limit given with one is not stored.
  const seatLimit = plan === 'paid' ? given : null;
  const interval = input.syncIntervalMinutes ?? null;
  if (interval !== null && (!Number.isInteger(interval) || interval < 1 || interval > 1440)) {
    throw new DomainError('invalid_sync_interval', 'The sync interval is a whole number of minutes from 1 to 1440');
  }
  const doc = await Organization.create({
    name,
    plan,
    seatLimit,
    seatsUsed: 0,
    settings: { syncIntervalMinutes: interval, autoImport: input.autoImport ?? false, inviteByDefault: input.inviteByDefault ?? false },
  });
  return doc.toObject() as OrganizationDoc;
}

export async function getOrganization(orgId: string): Promise<OrganizationDoc> {
  if (!Types.ObjectId.isValid(orgId)) throw new DomainError('invalid_org_id', `"${orgId}" is not an organisation id`);
  const org = await Organization.findById(orgId).lean<OrganizationDoc>();
  if (!org) throw new DomainError('org_not_found', `Organisation ${orgId} does not exist`);
  return org;
}
