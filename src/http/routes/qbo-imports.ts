import { z } from 'zod/v4';
import { requestLinkAction } from '../../directory/link-requests';
import { listImportCandidates } from '../../imports/candidates';
import { getImport, MAX_IMPORT, requestImport } from '../../imports/request';
import { baseDeps } from '../../runtime';
import { defineRoute, orgIdParam, type RouteFile } from '../route';
import { candidateView, importView, linkResultView, showCandidate, showImport } from '../views';

/**
 * /api/v1/orgs/:orgId/qbo/import-candidates, imports and members/:employeeId/(dis)connect:
 * the admin's side of the members tab. Imports are long work (202 + the import to poll);
 * a link action usually answers within the request, else 202 with the job to look for.
 */

const importBody = z
  .object({
    employeeIds: z.array(z.union([z.string(), z.number()])).min(1).max(MAX_IMPORT).describe('QuickBooks employee ids, each once (see import-candidates)'),
    sendInvites: z.boolean().optional().describe("e-mail an invitation to each new member with an address; defaults to the organisation's setting"),
    includeInactive: z.boolean().optional().describe('also import employees inactive in QuickBooks (default false: they are skipped)'),
  })
  .strict();

const employeeParam = orgIdParam.extend({ employeeId: z.string().describe('QuickBooks employee id') });
const LINK_WAIT_MS = 10_000;

function linkRoute(action: 'connect' | 'disconnect') {
  return defineRoute({
    method: 'POST',
    url: `/orgs/:orgId/qbo/members/:employeeId/${action}`,
    auth: 'org',
    summary:
      action === 'disconnect'
        ? 'Cut one employee’s link; syncs never relink it (the member and the employee stay)'
        : 'Decide one employee’s link again on what QuickBooks has now: connected, or cannot_connect with the reason',
    tags: ['members tab'],
    params: employeeParam,
    responses: {
      200: { description: 'Done', schema: z.object({ link: linkResultView }) },
      202: { description: 'Queued; a sync of this organisation is running and the action waits for it', schema: z.object({ jobId: z.string() }) },
    },
    errors: [404],
    async handler({ params }, { rt }) {
      const res = await requestLinkAction(rt.queues, params.orgId, params.employeeId, action, LINK_WAIT_MS);
      return res.done ? { body: { link: res.result } } : { status: 202, body: { jobId: res.jobId } };
    },
  });
}

export default {
  prefix: '/api/v1',
  routes: [
    defineRoute({
      method: 'GET',
      url: '/orgs/:orgId/qbo/import-candidates',
      auth: 'org',
      summary: 'QuickBooks employees nobody in the directory matches by name or e-mail (stored data; QuickBooks is not asked)',
      tags: ['members tab'],
      params: orgIdParam,
      query: z.object({ includeInactive: z.enum(['true', 'false']).optional() }).strict(),
      responses: { 200: { description: 'The candidates, by QuickBooks id', schema: z.object({ candidates: z.array(candidateView) }) } },
      errors: [404],
      async handler({ params, query }) {
        const rows = await listImportCandidates(params.orgId, { includeInactive: query.includeInactive === 'true' });
        return { body: { candidates: rows.map(showCandidate) } };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/orgs/:orgId/qbo/imports',
      auth: 'org',
      summary: 'Import chosen employees as members (seats are checked first); poll the import it answers',
      tags: ['members tab'],
      params: orgIdParam,
      body: importBody,
      responses: {
        202: { description: 'Queued', schema: z.object({ importId: z.string(), state: z.literal('queued'), seatsNeeded: z.number() }) },
      },
      errors: [404, 409],
      async handler({ params, body }, { rt }) {
        const req = await requestImport(baseDeps(rt), params.orgId, body);
        return {
          status: 202,
          body: { importId: req.importId, state: 'queued', seatsNeeded: req.seatsNeeded },
          headers: { Location: `/api/v1/orgs/${params.orgId}/qbo/imports/${req.importId}` },
        };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/orgs/:orgId/qbo/imports/:id',
      auth: 'org',
      summary: 'One import: its state and the outcome per employee',
      tags: ['members tab'],
      params: orgIdParam.extend({ id: z.string() }),
      responses: { 200: { description: 'The import', schema: z.object({ import: importView }) } },
      errors: [404],
      async handler({ params }) {
        return { body: { import: showImport(await getImport(params.orgId, params.id)) } };
      },
    }),
    linkRoute('disconnect'),
    linkRoute('connect'),
  ],
} satisfies RouteFile;
