import { z } from 'zod/v4';
import { QboConnection, type QboConnectionDoc } from '../../db/models';
import { getOrganization } from '../../directory/organizations';
import { DomainError } from '../../errors';
import { disconnectQbo } from '../../qbo/disconnect';
import { createState } from '../../qbo/oauth-state';
import { defineRoute, orgIdParam, type RouteFile } from '../route';
import { connectionView, showConnection } from '../views';

/** /api/v1/orgs/:orgId/qbo: the organisation's QuickBooks connection (connect, look, disconnect). */

const connectQuery = z
  .object({
    redirect: z.enum(['true', 'false']).default('true').describe('`false` answers the consent URL as JSON instead of a 302 (for front ends using fetch)'),
  })
  .strict();

export default {
  prefix: '/api/v1',
  routes: [
    defineRoute({
      method: 'GET',
      url: '/orgs/:orgId/qbo/connect',
      auth: 'org',
      summary: "Send the admin to Intuit's consent page, with a signed, expiring, single-use state",
      tags: ['quickbooks'],
      params: orgIdParam,
      query: connectQuery,
      responses: {
        302: { description: 'Redirect to Intuit (Location header)' },
        200: { description: 'With redirect=false', schema: z.object({ authorizeUrl: z.string(), expiresAt: z.string() }) },
      },
      errors: [404],
      async handler({ params, query }, { rt, config }) {
        const org = await getOrganization(params.orgId);
        const s = createState(String(org._id), config.OAUTH_STATE_SECRET, config.OAUTH_STATE_TTL_SECONDS);
        const authorizeUrl = rt.qbo.authorizeUrl(s.state);
        if (query.redirect === 'false') return { body: { authorizeUrl, expiresAt: new Date(s.expiresAt * 1000).toISOString() } };
        return { status: 302, headers: { Location: authorizeUrl, 'Cache-Control': 'no-store' } };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/orgs/:orgId/qbo',
      auth: 'org',
      summary: 'The QuickBooks connection: status, company (realm), sync cursors',
      tags: ['quickbooks'],
      params: orgIdParam,
      responses: { 200: { description: 'The connection', schema: z.object({ connection: connectionView }) } },
      errors: [404],
      async handler({ params }) {
        const org = await getOrganization(params.orgId);
        const conn = await QboConnection.findOne({ orgId: org._id }).lean<QboConnectionDoc>();
        if (!conn) throw new DomainError('connection_not_found', 'This organisation has no QuickBooks connection');
        return { body: { connection: showConnection(conn) } };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/orgs/:orgId/qbo',
      auth: 'org',
      summary: 'Disconnect QuickBooks: revoke the token at Intuit, stop scheduled syncs; members and employees stay',
      tags: ['quickbooks'],
      params: orgIdParam,
      responses: {
        200: {
          description: 'Disconnected (also when it already was)',
          schema: z.object({ status: z.literal('disconnected'), realmId: z.string(), revoked: z.boolean(), alreadyDisconnected: z.boolean() }),
        },
      },
      errors: [404],
      async handler({ params }, { rt, config }) {
        const res = await disconnectQbo({ qbo: rt.qbo, queues: rt.queues, tokenKey: config.tokenKey, logger: rt.logger }, params.orgId);
        return { body: { status: 'disconnected', ...res } };
      },
    }),
  ],
} satisfies RouteFile;
