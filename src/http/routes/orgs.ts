import { z } from 'zod/v4';
import { createOrganization, getOrganization, MAX_SEAT_LIMIT } from '../../directory/organizations';
import { issueOrgKey } from '../auth';
import { defineRoute, orgIdParam, type RouteFile } from '../route';
import { organizationView, showOrganization } from '../views';

/** /api/v1/orgs: organisations and their API key. */

const newOrg = z
  .object({
    name: z.string().trim().min(1).max(200),
    plan: z.enum(['free', 'paid']).default('free'),
    // The range is the domain's rule (createOrganization), so the API and the CLI refuse the same
    // numbers with the same invalid_seat_limit answer.
    seatLimit: z.number().nullable().optional().describe(`a whole number from 0 to ${MAX_SEAT_LIMIT}; required on the paid plan`),
    syncIntervalMinutes: z.number().int().min(1).max(1440).nullable().optional(),
    autoImport: z.boolean().optional(),
    inviteByDefault: z.boolean().optional(),
  })
  .strict();

const created = z.object({
  organization: organizationView,
  apiKey: z.string().describe('The organisation key, shown this once: only its hash is stored'),
});

export default {
  prefix: '/api/v1',
  routes: [
    defineRoute({
      method: 'POST',
      url: '/orgs',
      auth: 'admin',
      summary: 'Create an organisation; answers its id and its API key (shown once)',
      tags: ['organisations'],
      body: newOrg,
      responses: { 201: { description: 'Created', schema: created } },
      errors: [403],
      async handler({ body }, { config }) {
        const org = await createOrganization(body);
        const apiKey = await issueOrgKey(org._id, config.apiKeyPepper);
        return { status: 201, body: { organization: showOrganization(org), apiKey }, headers: { Location: `/api/v1/orgs/${String(org._id)}` } };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/orgs/:orgId',
      auth: 'org',
      summary: 'One organisation',
      tags: ['organisations'],
      params: orgIdParam,
      responses: { 200: { description: 'The organisation', schema: z.object({ organization: organizationView }) } },
      errors: [404],
      async handler({ params }) {
        return { body: { organization: showOrganization(await getOrganization(params.orgId)) } };
      },
    }),
  ],
} satisfies RouteFile;
