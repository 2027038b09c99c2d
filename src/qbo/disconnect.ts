import type { Queues } from '../../queues';
import { removeSyncSchedule } from '../../queues/schedules';
import { QboConnection, type QboConnectionDoc } from '../db/models';
import { getOrganization } from '../directory/organizations';
import { DomainError } from '../errors';
import type { Logger } from '../logger';
import type { QboClient } from './client';
import { companyOf } from './connect';
import { decryptSecret } from '../crypto';

export interface DisconnectDeps {
  qbo: QboClient;
  queues: Queues;
  tokenKey: Buffer;
  logger: Logger;
}

export interface DisconnectResult {
  realmId: string;
  /** False when Intuit could not be told (the token then dies on its own, ~100 days later). */
  revoked: boolean;
  alreadyDisconnected: boolean;
}

/**
 * An admin disconnects the QuickBooks integration: the refresh token is revoked at Intuit, the
 * organisation's sync schedule is removed and the connection is marked `disconnected`.
 * Members, employees and their links stay. Idempotent. A failed revoke does not keep the
 * organisation connected: what the admin asked for is to stop, and that happens here.
 */
export async function disconnectQbo(deps: DisconnectDeps, orgId: string): Promise<DisconnectResult> {
  const org = await getOrganization(orgId);
  const conn = await QboConnection.findOne({ orgId: org._id }).lean<QboConnectionDoc>();
  if (!conn) throw new DomainError('connection_not_found', 'This organisation has no QuickBooks connection');
  await removeSyncSchedule(deps.queues, String(org._id));
  if (conn.status === 'disconnected') return { realmId: companyOf(conn.realmId), revoked: false, alreadyDisconnected: true };

  let revoked = false;
  try {
    await deps.qbo.revoke(decryptSecret(conn.refreshTokenEnc, deps.tokenKey));
    revoked = true;
  } catch (err) {
    deps.logger.warn({ orgId, realmId: conn.realmId, err }, 'Intuit did not confirm the token revocation; disconnecting anyway');
  }
  await QboConnection.updateOne({ _id: conn._id }, { $set: { status: 'disconnected', statusReason: revoked ? 'disconnected_by_admin' : 'disconnected_by_admin_revoke_failed' } });
  deps.logger.info({ orgId, realmId: conn.realmId, revoked }, 'QuickBooks company disconnected');
  return { realmId: conn.realmId, revoked, alreadyDisconnected: false };
}
