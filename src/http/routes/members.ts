import { z } from 'zod/v4';
import { addMember, listMembers } from '../../directory/members';
import { baseDeps } from '../../runtime';
import { defineRoute, orgIdParam, type RouteFile } from '../route';
import { memberView, showMember } from '../views';

/** /api/v1/orgs/:orgId/members: the member directory. */

const newMember = z
  .object({
    fullName: z.string().trim().min(1).max(200),
    email: z.string().trim().max(320).nullable().optional().describe('without one the member has no login access'),
  })
  .strict();

export default {
  prefix: '/api/v1',
  routes: [
    defineRoute({
      method: 'POST',
      url: '/orgs/:orgId/members',
      auth: 'org',
      summary: 'Add a member by hand (takes a seat on paid plans)',
      tags: ['members'],
      params: orgIdParam,
      body: newMember,
      responses: { 201: { description: 'Added', schema: z.object({ member: memberView }) } },
      errors: [404, 409],
      async handler({ params, body }, { rt }) {
        const m = await addMember(baseDeps(rt), params.orgId, { fullName: body.fullName, email: body.email ?? null });
        return { status: 201, body: { member: showMember(m) } };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/orgs/:orgId/members',
      auth: 'org',
      summary: 'The member directory, by name',
      tags: ['members'],
      params: orgIdParam,
      responses: { 200: { description: 'Every member', schema: z.object({ members: z.array(memberView) }) } },
      errors: [404],
      async handler({ params }) {
        return { body: { members: (await listMembers(params.orgId)).map(showMember) } };
      },
    }),
  ],
} satisfies RouteFile;
