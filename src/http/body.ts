import type { FastifyInstance } from 'fastify';
import type { z } from 'zod/v4';
import { ApiError } from './errors';

/**
 * How the API reads JSON bodies (the webhook endpoint reads its own bytes, see
 * routes/webhooks.ts), and what it says about numbers JSON cannot hold.
 *
 * - An empty body is no body: a route that takes none is served, an unknown route is a 404,
 *   and a route that needs one says so when its schema is checked.
 * - A request no route matches is answered 404 whatever its body, so the body is not parsed.
 * - Keys that would reach an object's prototype (`__proto__`, `constructor.prototype`) are
 *   refused, as Fastify's own parser does, but with a message that says why.
 */

export const POISONED_MESSAGE = 'JSON bodies may not contain __proto__ or constructor.prototype keys';
const INVALID_MESSAGE = 'The request body is not valid JSON';
const MAY_HOLD_PROTOTYPE_KEYS = /__proto__|constructor|\\u/;

/** True when a parsed JSON value holds a key that could reach an object's prototype. */
export function hasPrototypeKeys(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      for (const v of node) stack.push(v);
      continue;
    }
    // JSON.parse defines "__proto__" as an own property; it never sets the prototype itself.
    if (Object.prototype.hasOwnProperty.call(node, '__proto__')) return true;
    const ctor = Object.prototype.hasOwnProperty.call(node, 'constructor') ? (node as Record<string, unknown>).constructor : undefined;
    if (ctor !== null && typeof ctor === 'object' && Object.prototype.hasOwnProperty.call(ctor, 'prototype')) return true;
    for (const v of Object.values(node)) stack.push(v);
  }
  return false;
}

/** The body of an application/json request: undefined when empty, else the parsed value. */
export function parseJsonRequestBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError(400, 'invalid_json', INVALID_MESSAGE);
  }
  // Only text that could spell such a key (directly or through an escape) is walked.
  if (MAY_HOLD_PROTOTYPE_KEYS.test(text) && hasPrototypeKeys(value)) throw new ApiError(400, 'invalid_json', POISONED_MESSAGE);
  return value;
}

/** Replaces Fastify's application/json parser with parseJsonRequestBody. */
export function registerJsonBodies(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    // No route: the 404 handler answers, and what the body says does not matter.
    if (request.is404) {
      done(null, undefined);
      return;
    }
    try {
      done(null, parseJsonRequestBody(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}

/**
 * zod's message for a number JSON turned into Infinity (1e400) is "expected number, received
 * number"; this says what is wrong instead. Pass as `error` to safeParse.
 */
export const numberIssueMessage: z.core.$ZodErrorMap = (issue) => {
  if (issue.code === 'invalid_type' && issue.expected === 'number' && typeof issue.input === 'number' && !Number.isFinite(issue.input)) {
    return 'must be a finite number';
  }
  return undefined;
};
