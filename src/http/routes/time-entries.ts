import { z } from 'zod/v4';
import { createTimeEntry, listTimeEntries, updateTimeEntry } from '../../timesheets/entries';
import { getExport, requestExport } from '../../timesheets/request';
import { defineRoute, orgIdParam, type RouteFile } from '../route';
import { exportView, showExport, showTimeEntry, timeEntryView } from '../views';

/** /api/v1/orgs/:orgId/time-entries and qbo/timesheet-exports: record time, export a period. */

const day = z.string().describe('YYYY-MM-DD');
const billable = z.object({ customerId: z.string(), hourlyRate: z.number() }).strict();
const entryBody = z
  .object({
    memberId: z.string(),
    date: day,
    hours: z.number().int().optional(),
    minutes: z.number().int().optional(),
    start: z.string().optional().describe('ISO date-time with offset, e.g. 2026-11-02T08:00:00-08:00 (with end, instead of hours/minutes)'),
    end: z.string().optional(),
    description: z.string().optional(),
    billable: billable.optional().describe('bill the time to a QuickBooks customer at this rate'),
  })
  .strict();

export default {
  prefix: '/api/v1',
  routes: [
    defineRoute({
      method: 'POST',
      url: '/orgs/:orgId/time-entries',
      auth: 'org',
      summary: 'Record time for a member (a duration, or a start and an end; at most 24 h)',
      tags: ['timesheets'],
      params: orgIdParam,
      body: entryBody,
      responses: { 201: { description: 'Recorded', schema: z.object({ timeEntry: timeEntryView }) } },
      errors: [404],
      async handler({ params, body }) {
        return { status: 201, body: { timeEntry: showTimeEntry(await createTimeEntry(params.orgId, body)) } };
      },
    }),
    defineRoute({
      method: 'PATCH',
      url: '/orgs/:orgId/time-entries/:id',
      auth: 'org',
      summary:
        'Change what an entry says: fields not given keep their values; hours/minutes replace a start/end and the other way round (an exported entry is then reported as edited, never sent again)',
      tags: ['timesheets'],
      params: orgIdParam.extend({ id: z.string() }),
      body: entryBody.omit({ memberId: true }).partial().extend({ billable: billable.nullable().optional().describe('null: no longer billable') }),
      responses: { 200: { description: 'Changed', schema: z.object({ timeEntry: timeEntryView }) } },
      errors: [404],
      async handler({ params, body }) {
        return { body: { timeEntry: showTimeEntry(await updateTimeEntry(params.orgId, params.id, body)) } };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/orgs/:orgId/time-entries',
      auth: 'org',
      summary: 'Time entries with their export state (pending, blocked with the reason, exported, failed)',
      tags: ['timesheets'],
      params: orgIdParam,
      query: z.object({ from: day.optional(), to: day.optional(), memberId: z.string().optional() }).strict(),
      responses: { 200: { description: 'By date', schema: z.object({ timeEntries: z.array(timeEntryView) }) } },
      errors: [404],
      async handler({ params, query }) {
        return { body: { timeEntries: (await listTimeEntries(params.orgId, query)).map(showTimeEntry) } };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/orgs/:orgId/qbo/timesheet-exports',
      auth: 'org',
      summary: 'Export a period to QuickBooks as TimeActivity; poll the export it answers',
      tags: ['timesheets'],
      params: orgIdParam,
      body: z.object({ from: day, to: day }).strict(),
      responses: { 202: { description: 'Queued', schema: z.object({ exportId: z.string(), state: z.literal('queued'), entries: z.number() }) } },
      errors: [404, 409],
      async handler({ params, body }, { rt }) {
        const req = await requestExport(rt.queues, params.orgId, body);
        return {
          status: 202,
          body: { exportId: req.exportId, state: 'queued', entries: req.entries },
          headers: { Location: `/api/v1/orgs/${params.orgId}/qbo/timesheet-exports/${req.exportId}` },
        };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/orgs/:orgId/qbo/timesheet-exports/:id',
      auth: 'org',
      summary: 'One export: counts, and every exported, blocked and failed entry with its reason',
      tags: ['timesheets'],
      params: orgIdParam.extend({ id: z.string() }),
      responses: { 200: { description: 'The export', schema: z.object({ export: exportView }) } },
      errors: [404],
      async handler({ params }) {
        return { body: { export: showExport(await getExport(params.orgId, params.id)) } };
      },
    }),
  ],
} satisfies RouteFile;
