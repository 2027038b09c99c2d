import type { FastifyRequest } from 'fastify';
import { z } from 'zod/v4';
import type { ApiConfig } from '../config';
import type { Runtime } from '../runtime';
import type { Principal } from './auth';

/**
 * How a route is declared: method, path, who may call it, zod schemas for params, query and
 * body, the answers it documents, and a handler that returns a reply. The app (src/http/app.ts)
 * validates every request against these schemas before the handler runs, and the OpenAPI
 * document (src/http/openapi.ts) is generated from the very same schemas.
 *
 * (zod's v4 API, shipped inside the zod 3.25 package we already use, because it can emit JSON
 * Schema for the OpenAPI document; the rest of the code base keeps the v3 API.)
 */

export type Auth =
  /** the admin key only */
  | 'admin'
  /** the admin key, or the key of the organisation named by `:orgId` (any other → 404) */
  | 'org'
  /** no bearer key (OAuth callback: the signed state is the credential) */
  | 'none';

export interface ApiContext {
  rt: Runtime;
  config: ApiConfig;
}

export interface Reply {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** `text/html` answers (the OAuth callback shown in a browser); JSON otherwise. */
  html?: string;
}

export interface Input<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal | null;
  request: FastifyRequest;
}

export interface ResponseDoc {
  description: string;
  schema?: z.ZodType;
}

type AnyObject = z.ZodObject<z.ZodRawShape>;

export interface RouteDef<P extends AnyObject = AnyObject, Q extends AnyObject = AnyObject, B extends z.ZodType = z.ZodType> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below the route file's prefix, Fastify style (`/orgs/:orgId`). */
  url: string;
  auth: Auth;
  summary: string;
  tags: string[];
  params?: P;
  query?: Q;
  body?: B;
  /** Successful answers by status; the error answers are documented for every route. */
  responses: Record<number, ResponseDoc>;
  /** Error statuses this route can answer besides 401/400/500 (for the document). */
  errors?: number[];
  handler(input: Input<z.infer<P>, z.infer<Q>, z.infer<B>>, ctx: ApiContext): Promise<Reply>;
}

/** One route file: its URL prefix and its routes. */
export interface RouteFile {
  prefix: '/api/v1' | '';
  routes: RouteDef[];
}

export function defineRoute<P extends AnyObject = AnyObject, Q extends AnyObject = AnyObject, B extends z.ZodType = z.ZodType>(
  def: RouteDef<P, Q, B>,
): RouteDef {
  return def as unknown as RouteDef;
}

export const orgIdParam = z.object({ orgId: z.string().describe('Organisation id (24 hex characters)') }).strict();

/** The error envelope every failure uses. */
export const errorSchema = z
  .object({
    error: z.object({ code: z.string().describe('stable, machine-readable'), message: z.string().describe('for people') }).catchall(z.unknown()),
  })
  .meta({ id: 'Error' });
