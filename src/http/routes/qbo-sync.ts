import { Types } from 'mongoose';
import { z } from 'zod/v4';
import { SyncRun, type SyncRunDoc } from '../../db/models';
import { getOrganization } from '../../directory/organizations';
import { DomainError } from '../../errors';
import { requestSync } from '../../sync/request';
import { defineRoute, orgIdParam, type RouteFile } from '../route';
import { showSyncRun, syncRunView } from '../views';

/** /api/v1/orgs/:orgId/qbo/sync and sync-runs: ask for a sync, follow it. */

const syncBody = z
  .object({ mode: z.enum(['incremental', 'full']).default('incremental').describe('incremental reads changes (CDC); full lists every employee') })
  .strict()
  .default({ mode: 'incremental' });

export default {
  prefix: '/api/v1',
  routes: [
    defineRoute({
      method: 'POST',
      url: '/orgs/:orgId/qbo/sync',
      auth: 'org',
      summary: 'Ask for a sync (joins one already waiting); poll the run it answers',
      tags: ['sync'],
      params: orgIdParam,
      body: syncBody,
      responses: {
        202: {
          description: 'Queued (or joined a waiting run)',
          schema: z.object({ syncRunId: z.string(), coalesced: z.boolean(), state: z.string() }),
        },
      },
      errors: [404, 409, 429],
      async handler({ params, body }, { rt, config }) {
        await getOrganization(params.orgId);
        const req = await requestSync({ redis: rt.redis, queues: rt.queues, keyPrefix: config.QUEUE_PREFIX }, params.orgId, 'manual', body.mode);
        return {
          status: 202,
          body: { syncRunId: req.syncRunId, coalesced: req.coalesced, state: 'queued' },
          headers: { Location: `/api/v1/orgs/${params.orgId}/qbo/sync-runs/${req.syncRunId}` },
        };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/orgs/:orgId/qbo/sync-runs/:id',
      auth: 'org',
      summary: "One sync run: state, counts, and the admin message once it finished",
      tags: ['sync'],
      params: orgIdParam.extend({ id: z.string() }),
      responses: { 200: { description: 'The run', schema: z.object({ syncRun: syncRunView }) } },
      errors: [404],
      async handler({ params }) {
        const org = await getOrganization(params.orgId);
        const run = Types.ObjectId.isValid(params.id) ? await SyncRun.findOne({ _id: params.id, orgId: org._id }).lean<SyncRunDoc>() : null;
        if (!run) throw new DomainError('sync_run_not_found', `Sync run ${params.id} does not exist in this organisation`);
        return { body: { syncRun: showSyncRun(run) } };
      },
    }),
  ],
} satisfies RouteFile;
