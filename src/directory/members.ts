import { DomainError } from '../errors';
import { Invitation, Member, type InvitationDoc, type MemberDoc } from '../db/models';
import { normalizeEmail, normalizeName } from '../matching/normalize';
import { getOrganization } from './organizations';
import { returnSeats, takeSeats, type SeatDeps } from './seats';

const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface NewMember {
  fullName: string;
  email?: string | null;
}

/** Adds a member by hand (origin `manual`). Takes a seat (refused when a paid plan has none left). */
export async function addMember(deps: SeatDeps, orgId: string, input: NewMember): Promise<MemberDoc> {
  const org = await getOrganization(orgId);
  const fullName = input.fullName?.trim();
  if (!fullName) throw new DomainError('invalid_name', 'A member needs a full name');
  const email = input.email?.trim() || null;
  if (email && !EMAIL_SHAPE.test(email)) throw new DomainError('invalid_email', 'The e-mail address is not valid');
  const emailKey = normalizeEmail(email);
  if (emailKey && (await Member.exists({ orgId: org._id, emailKey }))) {
    throw new DomainError('member_email_taken', 'Another member of this organisation already has that e-mail address');
  }
  const seat = await takeSeats(deps, org._id, 1);
  if (!seat.ok) {
    throw new DomainError('seat_quota_exceeded', 'No member seat is left on this plan', { seatsNeeded: 1, seatsFree: seat.seatsFree });
  }
  try {
    const doc = await Member.create({
      orgId: org._id,
      fullName,
      email,
      emailKey,
      nameKey: normalizeName(fullName),
      loginAccess: email !== null,
      origin: 'manual',
    });
    return doc.toObject() as MemberDoc;
  } catch (err) {
    await returnSeats(deps, org._id, 1);
    throw err;
  }
}

/**
 * The directory, by name. A member's invitation shows its final outcome from the ledger
 * (src/invites/send.ts) once there is one, else what was asked for (none / queued).
 */
export async function listMembers(orgId: string): Promise<MemberDoc[]> {
  const org = await getOrganization(orgId);
  const members = await Member.find({ orgId: org._id }).sort({ fullName: 1 }).lean<MemberDoc[]>();
  const outcomes = new Map((await Invitation.find({ orgId: org._id }).lean<InvitationDoc[]>()).map((d) => [String(d._id), d]));
  return members.map((m) => {
    const o = outcomes.get(String(m._id));
    return o ? { ...m, invitation: { state: o.outcome, reason: o.reason } } : m;
  });
}
