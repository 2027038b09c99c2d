/**
 * The demo's members-tab part, after the first sync: the import candidates, an import of all
 * of them with invitations (through the `member-import` and `member-invites` queues), the
 * e-mails the local SMTP receiver got, and the statuses afterwards.
 */
import { printCandidates, printDirectory, printImport, printMembersTab } from '../src/cli/print';
import { Invitation, Member } from '../src/db/models';
import type { Mailbox } from '../src/dev/mailbox';
import { listMembers } from '../src/directory/members';
import { membersTab } from '../src/directory/members-tab';
import { listImportCandidates } from '../src/imports/candidates';
import { requestImport } from '../src/imports/request';
import { waitForImport } from '../src/imports/wait';
import { baseDeps, type Runtime } from '../src/runtime';

export async function demoImport(rt: Runtime, orgId: string, mailbox: Mailbox, out: (s?: string) => void): Promise<boolean> {
  const candidates = await listImportCandidates(orgId);
  out('\n6. Import candidates (QBO employees nobody in the directory matches by name or e-mail):');
  printCandidates((l) => out(`   ${l}`), candidates);
  if (candidates.length === 0) return true;

  // Near misses are most likely people already in the directory under a slightly different
  // name: an admin fixes those names rather than importing a second copy of the person.
  const chosen = candidates.filter((c) => !c.hint);
  const req = await requestImport(baseDeps(rt), orgId, { employeeIds: chosen.map((c) => c.qboId), sendInvites: true });
  out(`\n7. The admin ticks the ${chosen.length} without a near miss (${candidates.length - chosen.length} look like members already in the directory) and imports them with "Send email invitation" on; queued on "member-import" as ${req.importId}:`);
  const imp = await waitForImport(req.importId, 120_000);
  if (!imp) {
    out('   the import did not finish within 120 s');
    return false;
  }
  printImport((l) => out(`   ${l}`), imp);

  const invited = await Member.countDocuments({ orgId, 'invitation.state': 'queued' });
  const deadline = Date.now() + 60_000;
  while ((await Invitation.countDocuments({ orgId })) < invited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  out(`\n8. Invitations delivered to the local SMTP receiver (${mailbox.url}) through "member-invites": ${mailbox.messages.length}`);
  for (const m of mailbox.messages) out(`   to ${m.to.join(', ')} — "${m.subject}"`);
  const link = /https?:\/\/\S+/.exec(mailbox.messages[0]?.text ?? '')?.[0];
  if (link) out(`   each with a personal accept link, e.g. ${link.replace(/token=[^&]+/, 'token=…')}`);

  out('\n9. The members the import added to the directory (those without an e-mail have no login access):');
  printDirectory((l) => out(`   ${l}`), (await listMembers(orgId)).filter((m) => m.origin === 'qbo_import'));
  out('\n   The members tab after the import:');
  printMembersTab((l) => out(`   ${l}`), await membersTab(orgId));
  return imp.state === 'succeeded';
}
