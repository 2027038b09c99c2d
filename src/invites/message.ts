/** The invitation e-mail. Pure: the worker fills it in and the mailer sends it. */
export interface InvitationText {
  subject: string;
  text: string;
}

export function acceptLink(baseUrl: string, token: string): string {
  const url = new URL(baseUrl);
  url.searchParams.set('token', token);
  return url.toString();
}

export function invitationText(memberName: string, orgName: string, link: string): InvitationText {
  return {
    subject: `${orgName} invited you to track time`,
    text: [
      `Hello ${memberName},`,
      '',
      `${orgName} added you to its team. Accept the invitation to set up your sign-in:`,
      link,
      '',
      'This link is personal; do not forward it. If you did not expect this e-mail, ignore it.',
    ].join('\n'),
  };
}

/** A stable Message-ID per member: the same invitation always carries the same one. */
export function invitationMessageId(memberId: string, from: string): string {
  const domain = /@([^>\s]+)>?\s*$/.exec(from)?.[1] ?? 'qbo-member-sync.invalid';
  return `<invite.${memberId}@${domain}>`;
}
