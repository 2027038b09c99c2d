import { ConfigError, loadConfig } from '../config';
import { createLogger } from '../logger';
import { createRuntime } from '../runtime';
import { buildApi } from './app';

/**
 * `npm run start:api`: the HTTP process. The composition root: config, logger, runtime
 * (Redis, MongoDB, queues, QBO client), then the Fastify app. One idempotent close() on
 * SIGTERM/SIGINT: stop accepting and drain in-flight requests (Fastify's close), then close
 * the runtime's connections.
 */

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env, { api: true });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.LOG_LEVEL, { proc: 'api' });
  const rt = await createRuntime(config, { logger, failFast: true });
  const app = await buildApi(rt);
  await app.listen({ host: config.API_HOST, port: config.API_PORT });
  logger.info({ host: config.API_HOST, port: config.API_PORT, webhooks: Boolean(config.QBO_WEBHOOK_VERIFIER_TOKEN) }, 'API listening');

  let closing: Promise<void> | null = null;
  const close = (signal: string): Promise<void> => {
    closing ??= (async () => {
      logger.info({ signal }, 'Stopping: no new connections, draining requests');
      await app.close();
      await rt.close();
      logger.info('Stopped');
    })();
    return closing;
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      close(signal).then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error({ err }, 'Shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`API failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
