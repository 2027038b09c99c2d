import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sameSecret } from './auth';
import { ApiError, errorBody } from './errors';
import type { ApiContext } from './route';

/**
 * Bull Board at /admin/queues, showing every queue of queues/index.ts, behind HTTP Basic
 * credentials of its own (BULL_BOARD_USER / BULL_BOARD_PASSWORD). API keys open nothing here.
 * Without credentials configured it is not mounted at all. Read-only unless
 * BULL_BOARD_READ_ONLY=false.
 */

export const BULL_BOARD_PATH = '/admin/queues';

/** `Basic base64(user:password)` → the pair; null when absent or malformed. */
export function basicCredentials(header: string | undefined): { user: string; password: string } | null {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return null;
  const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export async function registerBullBoard(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const { config, rt } = ctx;
  const user = config.BULL_BOARD_USER;
  const password = config.BULL_BOARD_PASSWORD;
  if (!user || !password) {
    rt.logger.info('Bull Board is off: set BULL_BOARD_USER and BULL_BOARD_PASSWORD to serve it at /admin/queues');
    return;
  }
  const readOnlyMode = config.BULL_BOARD_READ_ONLY;
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: rt.queues.all().map((q) => new BullMQAdapter(q, { readOnlyMode })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'qbo-member-sync' } },
  });

  const requireCredentials = async (request: FastifyRequest, reply: FastifyReply) => {
    const given = basicCredentials(request.headers.authorization);
    // Both compared every time (constant time each), so a right user name is not a hint.
    const userOk = sameSecret(given?.user ?? '', user);
    const passwordOk = sameSecret(given?.password ?? '', password);
    if (!given || !userOk || !passwordOk) {
      // Answered here, not thrown: Bull Board's plugin installs an error handler of its own.
      const e = new ApiError(401, 'unauthorized', 'Bull Board needs its own credentials (HTTP Basic)');
      return reply.code(401).header('WWW-Authenticate', 'Basic realm="Bull Board", charset="UTF-8"').send(errorBody(e));
    }
  };
  await app.register(async (scope) => {
    scope.addHook('onRequest', requireCredentials);
    await scope.register(serverAdapter.registerPlugin(), { prefix: BULL_BOARD_PATH });
  });
  rt.logger.info({ path: BULL_BOARD_PATH, readOnly: readOnlyMode, queues: rt.queues.all().map((q) => q.name) }, 'Bull Board is on');
}
