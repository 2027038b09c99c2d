import { createHash } from 'node:crypto';
import { z } from 'zod/v4';
import { completeConnection, connectDeps } from '../../qbo/connect';
import { verifyState } from '../../qbo/oauth-state';
import { DomainError } from '../../errors';
import { classifyQboError } from '../../qbo/classify';
import { ApiError, dependencyDown, toApiError } from '../errors';
import { defineRoute, type Reply, type RouteFile } from '../route';

/**
 * GET /qbo/callback: where Intuit sends the admin back after consent. No bearer key (a browser
 * arrives here); the signed state is the credential. Order matters: the state is verified and
 * spent (single use, in Redis) before anything else, and each authorization code is handed to
 * completeConnection (the one token exchange) at most once.
 */

// Intuit owns this query string and may add parameters: unknown ones are allowed here (only here).
const callbackQuery = z
  .object({
    code: z.string().max(2048).optional(),
    state: z.string().max(2048).optional(),
    realmId: z.string().max(64).optional(),
    error: z.string().max(256).optional(),
    error_description: z.string().max(1024).optional(),
  })
  .loose();

const connected = z.object({ status: z.literal('connected'), orgId: z.string(), realmId: z.string(), firstSyncRunId: z.string() });

const STATE_REASON: Record<string, { code: string; message: string }> = {
  missing: { code: 'invalid_state', message: 'The callback has no state: start connecting again from the app' },
  malformed: { code: 'invalid_state', message: 'The state is not one this server issued: start connecting again from the app' },
  bad_signature: { code: 'invalid_state', message: 'The state is not one this server issued: start connecting again from the app' },
  expired: { code: 'state_expired', message: 'The consent link expired: start connecting again from the app' },
};

/** A failed token exchange is Intuit's answer, not our bug: say which kind it was. */
function exchangeFailure(err: unknown): unknown {
  if (err instanceof DomainError || err instanceof ApiError || dependencyDown(err)) return err;
  const c = classifyQboError(err);
  if (c.kind === 'reauth' || c.kind === 'permanent') {
    return new ApiError(400, 'authorization_code_refused', 'Intuit refused the authorization code (expired or already used): start connecting again from the app');
  }
  return new ApiError(502, 'qbo_unavailable', 'Intuit did not complete the token exchange: start connecting again in a minute', {}, { 'Retry-After': '60' });
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(status: number, title: string, text: string): Reply {
  return {
    status,
    html: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title></head><body><h1>${esc(title)}</h1><p>${esc(text)}</p></body></html>`,
    headers: { 'Cache-Control': 'no-store' },
  };
}

export default {
  prefix: '',
  routes: [
    defineRoute({
      method: 'GET',
      url: '/qbo/callback',
      auth: 'none',
      summary: "Intuit's OAuth redirect: verifies and spends the state, exchanges the code once, stores the connection, schedules syncs, queues the first sync",
      tags: ['quickbooks'],
      query: callbackQuery,
      responses: { 200: { description: 'Connected (JSON, or an HTML page when the browser asks for text/html)', schema: connected } },
      errors: [409, 502],
      async handler({ query, request }, { rt, config }) {
        const html = (request.headers.accept ?? '').includes('text/html');
        try {
          const st = verifyState(query.state, config.OAUTH_STATE_SECRET);
          if (!st.ok) {
            const r = STATE_REASON[st.reason] as { code: string; message: string };
            throw new ApiError(400, r.code, r.message);
          }
          const prefix = config.QUEUE_PREFIX;
          const ttl = Math.max(60, st.expiresAt - Math.floor(Date.now() / 1000) + 60);
          if ((await rt.redis.set(`${prefix}:oauth-state:${st.nonce}`, '1', 'EX', ttl, 'NX')) !== 'OK') {
            throw new ApiError(400, 'state_already_used', 'This consent link was already used: start connecting again from the app');
          }
          if (query.code) {
            const codeKey = `${prefix}:oauth-code:${createHash('sha256').update(query.code).digest('hex')}`;
            if ((await rt.redis.set(codeKey, '1', 'EX', 3600, 'NX')) !== 'OK') {
              throw new ApiError(409, 'code_already_used', 'This authorization code was already exchanged');
            }
          }
          const search = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
          const res = await completeConnection(connectDeps(rt), st.orgId, `${config.QBO_REDIRECT_URI}${search}`).catch((err: unknown) => {
            throw exchangeFailure(err);
          });
          const body = { status: 'connected' as const, orgId: st.orgId, realmId: res.connection.realmId, firstSyncRunId: res.firstSync.syncRunId };
          if (html) return page(200, 'QuickBooks connected', `QuickBooks company ${body.realmId} is connected. The first sync is on its way; you can close this page.`);
          return { body, headers: { 'Cache-Control': 'no-store' } };
        } catch (err) {
          if (!html) throw err;
          const e = toApiError(err);
          if (e.code === 'internal_error') throw err;
          return page(e.status, e.code === 'realm_taken' ? 'Company already connected elsewhere' : 'Could not connect QuickBooks', e.message);
        }
      },
    }),
  ],
} satisfies RouteFile;
