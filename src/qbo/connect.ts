import type { Redis } from 'ioredis';
import type { Queues } from '../../queues';
import { ensureSyncSchedule } from '../../queues/schedules';
import { DomainError } from '../errors';
import { isDuplicateKey } from '../db/bulk';
import { QboConnection, QboEmployee, type QboConnectionDoc } from '../db/models';
import { getOrganization } from '../directory/organizations';
import type { Logger } from '../logger';
import type { Runtime } from '../runtime';
import { requestSync, type SyncRequestResult } from '../sync/request';
import type { QboClient } from './client';
import { sealTokens } from './tokens';

export interface ConnectDeps {
  qbo: QboClient;
  queues: Queues;
  redis: Redis;
  tokenKey: Buffer;
  keyPrefix: string;
  logger: Logger;
  environment: 'sandbox' | 'production';
  defaultIntervalMinutes: number;
}

export function connectDeps(rt: Runtime): ConnectDeps {
  return {
    qbo: rt.qbo,
    queues: rt.queues,
    redis: rt.redis,
    tokenKey: rt.config.tokenKey,
    keyPrefix: rt.config.QUEUE_PREFIX,
    logger: rt.logger,
    environment: rt.config.QBO_ENVIRONMENT,
    defaultIntervalMinutes: rt.config.SYNC_DEFAULT_INTERVAL_MINUTES,
  };
}

const MOVED = '~moved~';

/** The realm id kept on a connection whose company another organisation took over. */
export const movedRealmId = (realmId: string, orgId: string) => `${realmId}${MOVED}${orgId}`;

/** The QuickBooks company a stored connection names, moved or not. */
export const companyOf = (storedRealmId: string) => storedRealmId.split(MOVED)[0] as string;

const realmTaken = (realmId: string) =>
  new DomainError('realm_taken', `QuickBooks company ${realmId} is already connected to another organisation`);

/**
 * Finishes Intuit's consent: exchanges the code once, stores the encrypted tokens and realm,
 * refuses a realm already connected to another organisation, schedules syncs and queues the
 * first (full) sync.
 */
export async function completeConnection(deps: ConnectDeps, orgId: string, callbackUrl: string): Promise<{ connection: QboConnectionDoc; firstSync: SyncRequestResult }> {
  const org = await getOrganization(orgId);
  const params = new URL(callbackUrl).searchParams;
  const realmId = params.get('realmId');
  if (params.get('error')) throw new DomainError('qbo_consent_denied', `Intuit answered: ${params.get('error')}`);
  if (!params.get('code') || !realmId) throw new DomainError('invalid_callback', 'The callback URL lacks code or realmId');
  if (!/^\d{1,30}$/.test(realmId)) throw new DomainError('invalid_callback', 'The realmId in the callback URL is not a QuickBooks company id');
  const other = await QboConnection.findOne({ realmId, orgId: { $ne: org._id } }, { orgId: 1, status: 1 }).lean<Pick<QboConnectionDoc, 'orgId' | 'status'>>();
  if (other && other.status !== 'disconnected') {
    throw realmTaken(realmId);
  }
  // Employees are stored by QBO id within the organisation: another company's ids would land on them.
  // Asked of the stored employees, not of the connection: a connection can be gone (another
  // organisation took the company over) while its employees stay.
  const foreign = await QboEmployee.findOne({ orgId: org._id, realmId: { $ne: realmId } }, { realmId: 1 }).lean<{ realmId: string }>();
  if (foreign) {
    throw new DomainError(
      'realm_changed',
      `This organisation holds the employees of QuickBooks company ${foreign.realmId}; connect that company again, or use a new organisation for company ${realmId}`,
    );
  }

  const tokens = await deps.qbo.exchangeCode(callbackUrl);
  // An organisation that disconnected the company lets it go, only while it is still
  // disconnected: its revoked connection stays as a record, under a realm id no company has
  // (the index keeps realm ids unique), and its members and stored employees stay too.
  if (other) {
    await QboConnection.updateOne(
      { orgId: other.orgId, realmId, status: 'disconnected' },
      { $set: { realmId: movedRealmId(realmId, String(other.orgId)), statusReason: 'company_connected_elsewhere' } },
    );
  }
  try {
    await QboConnection.updateOne(
      { orgId: org._id },
      {
        $set: { realmId, environment: deps.environment, status: 'connected', statusReason: null, ...sealTokens(tokens, deps.tokenKey) },
        $inc: { tokenVersion: 1 },
        $setOnInsert: { orgId: org._id, lastFullSyncAt: null, lastCdcAt: null },
      },
      { upsert: true },
    );
  } catch (err) {
    // The realm's unique index: another organisation connected it meanwhile.
    if (isDuplicateKey(err)) throw realmTaken(realmId);
    throw err;
  }
  const connection = (await QboConnection.findOne({ orgId: org._id }).lean<QboConnectionDoc>()) as QboConnectionDoc;
  await ensureSyncSchedule(deps.queues, orgId, org.settings.syncIntervalMinutes ?? deps.defaultIntervalMinutes);
  const firstSync = await requestSync(deps, orgId, 'connect', 'full');
  deps.logger.info({ orgId, realmId }, 'QuickBooks company connected');
  return { connection, firstSync };
}
