import { z } from 'zod/v4';
import { errorSchema, type RouteFile } from './route';

/**
 * The OpenAPI 3.1 document, generated at start-up from the route definitions: the same zod
 * schemas that validate requests describe them here (JSON Schema 2020-12, as 3.1 allows).
 */

type Json = Record<string, unknown>;

const STATUS_TEXT: Record<number, string> = {
  400: 'Invalid request (validation_failed, invalid_json …)',
  401: 'No API key, or not a valid one',
  403: 'The key may not do this (admin_only)',
  404: 'No such organisation or resource (another tenant’s organisation answers the same)',
  409: 'The current state forbids it (qbo_not_connected, realm_taken, seat_quota_exceeded …)',
  413: 'The body is too large',
  415: 'Unsupported content type',
  429: 'Too many requests; see Retry-After',
  500: 'Internal error',
  502: 'QuickBooks (Intuit) did not complete the request; see Retry-After',
  503: 'A dependency (database, Redis) is down; see Retry-After',
};

/** zod → JSON Schema, with named schemas moved to components and refs pointed there. */
function toSchema(schema: z.ZodType, components: Json, io: 'input' | 'output'): Json {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json;
  const defs = (out.$defs ?? {}) as Json;
  delete out.$defs;
  delete out.$schema;
  const rewrite = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(rewrite);
    if (v && typeof v === 'object') {
      const o: Json = {};
      for (const [k, x] of Object.entries(v as Json)) {
        o[k] = k === '$ref' && typeof x === 'string' ? x.replace('#/$defs/', '#/components/schemas/') : rewrite(x);
      }
      return o;
    }
    return v;
  };
  const named = (o: Json): Json => {
    const { id: _id, ...rest } = o;
    return rest;
  };
  for (const [name, def] of Object.entries(defs)) components[name] = named(rewrite(def) as Json);
  // A named schema at the top level: into components, answered as a reference.
  if (typeof out.id === 'string') {
    components[out.id] = named(rewrite(out) as Json);
    return { $ref: `#/components/schemas/${out.id}` };
  }
  return rewrite(out) as Json;
}

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query', components: Json): Json[] {
  if (!schema) return [];
  const js = toSchema(schema, components, 'input');
  const props = (js.properties ?? {}) as Record<string, Json>;
  const required = new Set((js.required ?? []) as string[]);
  return Object.entries(props).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    ...(typeof s.description === 'string' ? { description: s.description } : {}),
    schema: s,
  }));
}

const staticPaths = (): Json => ({
  '/webhooks/quickbooks': {
    post: {
      summary: "Intuit's webhooks (legacy eventNotifications or a CloudEvents array); signed with intuit-signature, no bearer key",
      tags: ['webhooks'],
      security: [],
      parameters: [{ name: 'intuit-signature', in: 'header', required: true, schema: { type: 'string' }, description: 'base64(HMAC-SHA256(raw body, verifier token))' }],
      requestBody: {
        required: true,
        content: { 'application/json': { schema: {} }, 'application/cloudevents+json': { schema: {} } },
      },
      responses: {
        200: { description: 'Verified and durably queued' },
        400: { description: 'Not JSON, or neither webhook envelope', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
        401: { description: 'Signature missing or wrong' },
        413: { description: 'Body too large' },
        415: { description: 'Not application/json or application/cloudevents+json' },
        503: { description: 'No verifier token configured, or the queue store is down' },
      },
    },
  },
  '/healthz': { get: { summary: 'The process is up', tags: ['operations'], security: [], responses: { 200: { description: 'Up' } } } },
  '/readyz': {
    get: {
      summary: 'Redis and MongoDB both answer a ping in time',
      tags: ['operations'],
      security: [],
      responses: { 200: { description: 'Ready' }, 503: { description: 'Not ready; the body says which dependency is down' } },
    },
  },
  '/metrics': { get: { summary: 'Prometheus metrics', tags: ['operations'], security: [], responses: { 200: { description: 'Prometheus text format' } } } },
  '/admin/queues': { get: { summary: 'Bull Board (HTTP Basic, its own credentials)', tags: ['operations'], security: [{ bullBoard: [] }], responses: { 200: { description: 'HTML' }, 401: { description: 'No or wrong credentials' } } } },
});

export function buildOpenApi(files: RouteFile[]): Json {
  const components: Json = {};
  const errorRef = toSchema(errorSchema, components, 'output');
  const paths = staticPaths() as Record<string, Json>;
  for (const file of files) {
    for (const def of file.routes) {
      const path = `${file.prefix}${def.url}`.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      const responses: Json = {};
      for (const [status, r] of Object.entries(def.responses)) {
        responses[status] = { description: r.description, ...(r.schema ? { content: { 'application/json': { schema: toSchema(r.schema, components, 'output') } } } : {}) };
      }
      const errors = new Set([400, 500, ...(def.auth === 'none' ? [] : [401]), ...(def.auth === 'org' ? [429] : []), ...(def.errors ?? []), 503]);
      for (const status of [...errors].sort((a, b) => a - b)) responses[String(status)] = { description: STATUS_TEXT[status] ?? 'Error', content: { 'application/json': { schema: errorRef } } };
      const op: Json = {
        summary: def.summary,
        tags: def.tags,
        operationId: `${def.method.toLowerCase()}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
        security: def.auth === 'none' ? [] : [{ bearerAuth: [] }],
        parameters: [...parameters(def.params, 'path', components), ...parameters(def.query, 'query', components)],
        responses,
      };
      // A body with a default (POST …/qbo/sync) may be left out altogether.
      if (def.body) op.requestBody = { required: !def.body.safeParse(undefined).success, content: { 'application/json': { schema: toSchema(def.body, components, 'input') } } };
      paths[path] = { ...(paths[path] ?? {}), [def.method.toLowerCase()]: op };
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'qbo-member-sync API',
      version: '1',
      description: 'Keeps a member directory in step with the employees of a QuickBooks Online company. Errors are always { "error": { "code", "message" } }.',
    },
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'The admin key, or an organisation key from POST /api/v1/orgs' },
        bullBoard: { type: 'http', scheme: 'basic' },
      },
    },
  };
}
