import { DomainError } from '../errors';
import { Member, Organization, type MemberDoc } from '../db/models';
import { normalizeEmail, normalizeName } from '../matching/normalize';
import { getOrganization } from './organizations';

const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface NewMember {
  fullName: string;
  email?: string | null;
}

/** Adds a member by hand (origin `manual`). Seats count on paid plans. */
export async function addMember(orgId: string, input: NewMember): Promise<MemberDoc> {
  const org = await getOrganization(orgId);
  const fullName = input.fullName?.trim();
  if (!fullName) throw new DomainError('invalid_name', 'A member needs a full name');
  const email = input.email?.trim() || null;
  if (email && !EMAIL_SHAPE.test(email)) throw new DomainError('invalid_email', 'The e-mail address is not valid');
  const emailKey = normalizeEmail(email);
  if (emailKey && (await Member.exists({ orgId: org._id, emailKey }))) {
    throw new DomainError('member_email_taken', 'Another member of this organisation already has that e-mail address');
  }
  if (org.plan === 'paid') {
    // Take the seat first, conditionally, so two additions cannot both take the last one.
    const took = await Organization.updateOne(
      { _id: org._id, seatsUsed: { $lt: org.seatLimit ?? 0 } },
      { $inc: { seatsUsed: 1 } },
    );
    if (took.modifiedCount !== 1) {
      throw new DomainError('seat_quota_exceeded', 'No member seat is left on this plan', { seatsNeeded: 1, seatsFree: 0 });
    }
  } else {
    await Organization.updateOne({ _id: org._id }, { $inc: { seatsUsed: 1 } });
  }
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
}

export async function listMembers(orgId: string): Promise<MemberDoc[]> {
  const org = await getOrganization(orgId);
  return Member.find({ orgId: org._id }).sort({ fullName: 1 }).lean<MemberDoc[]>();
}
