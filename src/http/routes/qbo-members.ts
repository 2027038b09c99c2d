import { z } from 'zod/v4';
import { QboConnection, type QboConnectionDoc } from '../../db/models';
import { membersTab } from '../../directory/members-tab';
import { defineRoute, orgIdParam, type RouteFile } from '../route';

/** /api/v1/orgs/:orgId/qbo/members: the members tab. */

const row = z
  .object({
    qboId: z.string(),
    name: z.string().describe('as QuickBooks has it'),
    email: z.string().nullable(),
    active: z.boolean(),
    deleted: z.boolean(),
    status: z.enum(['connected', 'disconnected', 'cannot_connect']),
    reason: z.string().nullable().describe('why it cannot connect: no_match, ambiguous_name, member_taken, no_identity, employee_deleted'),
    matchedBy: z.string().nullable(),
    member: z.object({ id: z.string(), fullName: z.string(), email: z.string().nullable() }).nullable(),
    hint: z.object({ memberId: z.string(), fullName: z.string().nullable(), kind: z.string().nullable() }).nullable().describe('a member that nearly matched'),
  })
  .meta({ id: 'MembersTabRow' });

const tab = z.object({
  connection: z.object({ status: z.string(), realmId: z.string() }).nullable(),
  rows: z.array(row),
  lastSync: z
    .object({ id: z.string(), state: z.string(), message: z.string().nullable(), finishedAt: z.string().nullable() })
    .nullable(),
});

export default {
  prefix: '/api/v1',
  routes: [
    defineRoute({
      method: 'GET',
      url: '/orgs/:orgId/qbo/members',
      auth: 'org',
      summary: 'The members tab: one row per QuickBooks employee with its link status, reason and member',
      tags: ['quickbooks'],
      params: orgIdParam,
      responses: { 200: { description: 'Rows in QuickBooks id order', schema: tab } },
      errors: [404],
      async handler({ params }) {
        const t = await membersTab(params.orgId);
        const conn = await QboConnection.findOne({ orgId: params.orgId }, { status: 1, realmId: 1 }).lean<Pick<QboConnectionDoc, 'status' | 'realmId'>>();
        return {
          body: {
            connection: conn ? { status: conn.status, realmId: conn.realmId } : null,
            rows: t.rows,
            lastSync: t.lastSync
              ? { id: t.lastSync.id, state: t.lastSync.state, message: t.lastSync.message ?? null, finishedAt: t.lastSync.finishedAt ? new Date(t.lastSync.finishedAt).toISOString() : null }
              : null,
          },
        };
      },
    }),
  ],
} satisfies RouteFile;
