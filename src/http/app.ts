import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod/v4';
import { ConfigError, type ApiConfig, type Config } from '../config';
import type { Runtime } from '../runtime';
import { bearerKey, resolveKey, type Principal } from './auth';
import { numberIssueMessage, registerJsonBodies } from './body';
import { registerBullBoard } from './bull-board';
import { ApiError, errorBody, toApiError } from './errors';
import { buildOpenApi } from './openapi';
import type { ApiContext, RouteDef } from './route';
import { ROUTE_FILES } from './routes/index';
import { registerOps } from './routes/ops';
import { registerWebhooks, WEBHOOK_PATH, webhookOutcomeOf } from './routes/webhooks';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export interface BuildApiOptions {
  /** How long /readyz waits for Redis and MongoDB to answer a ping, in ms. */
  readyTimeoutMs?: number;
}

/** The API needs the admin key and the state secret; the shared runtime config may lack them. */
export function requireApiConfig(config: Config): ApiConfig {
  const missing = (['ADMIN_API_KEY', 'OAUTH_STATE_SECRET'] as const).filter((k) => !config[k]).map((k) => `${k} is required by the API process`);
  if (missing.length > 0) throw new ConfigError(missing);
  return config as ApiConfig;
}

const EMPTY = z.object({}).strict();

function validate<T>(schema: z.ZodType<T> | undefined, value: unknown, where: 'params' | 'query' | 'body'): T {
  if (!schema && where === 'body') {
    const empty = value === undefined || value === null || (typeof value === 'object' && Object.keys(value as object).length === 0);
    if (!empty) throw new ApiError(400, 'validation_failed', 'This route takes no request body');
    return undefined as T;
  }
  // A route that declares no params or query takes none: unknown ones are refused.
  const res = (schema ?? (EMPTY as unknown as z.ZodType<T>)).safeParse(where === 'body' ? value : (value ?? {}), { error: numberIssueMessage });
  if (res.success) return res.data;
  // An empty body (or none) where the route needs one.
  if (where === 'body' && value === undefined) throw new ApiError(400, 'validation_failed', 'This route needs a JSON request body');
  const issues = res.error.issues.map((i) => ({ in: where, path: i.path.join('.'), message: i.message }));
  throw new ApiError(400, 'validation_failed', `Invalid ${where}: ${issues.map((i) => `${i.path || where} ${i.message}`).join('; ')}`, { issues });
}

/**
 * A fixed one-minute window per organisation key, counted in Redis (so every API process
 * shares it): one INCR (+ EXPIRE on the first) per request. The admin key is not limited.
 */
async function rateLimit(ctx: ApiContext, keyId: string): Promise<void> {
  const limit = ctx.config.API_RATE_LIMIT_PER_MINUTE;
  if (limit <= 0) return;
  const now = Date.now();
  const window = Math.floor(now / 60_000);
  const key = `${ctx.config.QUEUE_PREFIX}:ratelimit:${keyId}:${window}`;
  const res = await ctx.rt.redis.multi().incr(key).expire(key, 61).exec();
  const count = Number(res?.[0]?.[1] ?? 0);
  if (count > limit) {
    const retry = String(Math.max(1, Math.ceil(((window + 1) * 60_000 - now) / 1000)));
    throw new ApiError(429, 'rate_limited', `More than ${limit} requests in a minute with this key; try again in ${retry} s`, {}, { 'Retry-After': retry });
  }
}

async function authenticate(ctx: ApiContext, def: RouteDef, request: FastifyRequest): Promise<void> {
  if (def.auth === 'none') return;
  const key = bearerKey(request.headers.authorization);
  if (!key) throw new ApiError(401, 'unauthorized', 'Send an API key: Authorization: Bearer <key>', {}, { 'WWW-Authenticate': 'Bearer' });
  const principal = await resolveKey(key, { adminKey: ctx.config.ADMIN_API_KEY, pepper: ctx.config.apiKeyPepper });
  if (!principal) throw new ApiError(401, 'invalid_api_key', 'The API key is not valid', {}, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
  if (def.auth === 'admin' && principal.kind !== 'admin') throw new ApiError(403, 'admin_only', 'Only the admin key may do this');
  if (def.auth === 'org' && principal.kind === 'org') {
    const orgId = (request.params as { orgId?: string }).orgId;
    // Another tenant's organisation is answered exactly like one that does not exist.
    if (orgId !== principal.orgId) throw new ApiError(404, 'org_not_found', `Organisation ${orgId ?? ''} does not exist`);
  }
  if (principal.kind === 'org') await rateLimit(ctx, principal.keyId);
  request.principal = principal;
}

function registerRoute(app: FastifyInstance, ctx: ApiContext, prefix: string, def: RouteDef): void {
  app.route({
    method: def.method,
    url: `${prefix}${def.url}`,
    // Before the body is read: no key, no parsing.
    onRequest: async (request) => authenticate(ctx, def, request),
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      const input = {
        params: validate(def.params, request.params, 'params'),
        query: validate(def.query, request.query, 'query'),
        body: validate(def.body, request.body, 'body'),
        principal: request.principal,
        request,
      };
      const r = await def.handler(input as Parameters<RouteDef['handler']>[0], ctx);
      reply.code(r.status ?? 200);
      if (r.headers) reply.headers(r.headers);
      if (r.html !== undefined) return reply.type('text/html; charset=utf-8').send(r.html);
      if (r.body === undefined) return reply.send();
      return reply.send(r.body);
    },
  });
}

/**
 * The API as a Fastify instance, not yet listening: REST routes (src/http/routes), the
 * QuickBooks webhook endpoint, Bull Board, health, readiness and metrics. Every dependency
 * comes from `rt`; closing the app does not close `rt` (its owner does that, after).
 */
export async function buildApi(rt: Runtime, opts: BuildApiOptions = {}): Promise<FastifyInstance> {
  const config = requireApiConfig(rt.config);
  const ctx: ApiContext = { rt, config };
  const app = Fastify({
    loggerInstance: rt.logger.child({ component: 'http' }) as FastifyBaseLogger,
    // Our own one-line access log below: Fastify's would print URLs with OAuth codes in them.
    logController: new LogController({ disableRequestLogging: true }),
    // No child logger per request: with our redaction paths each pino child costs more than a
    // whole webhook delivery. Lines about a request carry its reqId field instead.
    childLoggerFactory: (logger) => logger,
    bodyLimit: config.API_BODY_LIMIT_BYTES,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  app.decorateRequest('principal', null);
  // The API speaks JSON only: other bodies (text/plain is built in) answer 415.
  app.removeContentTypeParser('text/plain');
  registerJsonBodies(app);

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const line = { reqId: request.id, method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 };
    if (reply.statusCode >= 500) request.log.error(line, 'request failed');
    else if (reply.statusCode >= 400) request.log.info(line, 'request refused');
    else request.log.debug(line, 'request');
  });

  app.setErrorHandler(async (err, request, reply) => {
    const e = toApiError(err);
    if (e.status >= 500 && e.code === 'internal_error') request.log.error({ reqId: request.id, err, route: request.routeOptions.url }, 'Unhandled error');
    if (request.routeOptions.url === WEBHOOK_PATH) rt.metrics.inc('webhook_deliveries_total', { outcome: webhookOutcomeOf(e) });
    return reply.code(e.status).headers(e.headers).send(errorBody(e));
  });
  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    return reply.code(404).send(errorBody(new ApiError(404, 'not_found', `No route ${request.method} ${path}`)));
  });

  for (const file of ROUTE_FILES) for (const def of file.routes) registerRoute(app, ctx, file.prefix, def);

  const openapi = buildOpenApi(ROUTE_FILES);
  app.get('/api/v1/openapi.json', async () => openapi);

  await registerWebhooks(app, ctx);
  registerOps(app, ctx, { readyTimeoutMs: opts.readyTimeoutMs ?? 1500 });
  await registerBullBoard(app, ctx);
  return app;
}
