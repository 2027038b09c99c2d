import type { RouteFile } from '../route';
import members from './members';
import orgs from './orgs';
import qboCallback from './qbo-callback';
import qboConnection from './qbo-connection';
import qboImports from './qbo-imports';
import qboMembers from './qbo-members';
import qboSync from './qbo-sync';
import timeEntries from './time-entries';

/**
 * Every route file of the API. To add a resource: write `src/http/routes/<resource>.ts`
 * exporting `{ prefix, routes: [defineRoute(…)] } satisfies RouteFile`, and add it here.
 * Registration, auth, validation, error mapping and the OpenAPI document follow from that.
 * (The webhook endpoint and the operational routes have their own plugins: src/http/webhooks.ts,
 * src/http/ops.ts, src/http/bull-board.ts.)
 */
export const ROUTE_FILES: RouteFile[] = [orgs, members, qboConnection, qboCallback, qboSync, qboMembers, qboImports, timeEntries];
