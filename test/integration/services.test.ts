// Proves the harness: real MongoDB-wire server (unique indexes honoured), real Redis, and
// per-file isolation that close() cleans up.
import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Organization, QboEmployee } from '../../src/db/models';
import { setupTestEnv } from '../helpers/env';
import type { TestEnv } from '../helpers/env';

describe('test services harness', () => {
  let env: TestEnv;

  beforeAll(async () => {
    env = await setupTestEnv('services');
  });

  afterAll(async () => {
    await env?.close();
  });

  it('says how services were started and gives each file its own db and prefix', () => {
    expect(['env', 'docker', 'local']).toContain(inject('servicesHow'));
    expect(env.mongoUrl.endsWith(`/${env.dbName}`)).toBe(true);
    expect(env.queuePrefix).toMatch(/^t-services-[0-9a-f]{8}$/);
    expect(env.mongo.name).toBe(env.dbName);
  });

  it('writes and reads a document through a model', async () => {
    const org = await Organization.create({ name: '  Acme Timber  ', plan: 'paid', seatLimit: 5 });
    const found = await Organization.findById(org._id).lean();
    expect(found).toMatchObject({ name: 'Acme Timber', plan: 'paid', seatLimit: 5, seatsUsed: 0 });
    expect(found?.settings).toEqual({ syncIntervalMinutes: null, autoImport: false, inviteByDefault: false });
  });

  it('enforces the unique {orgId, qboId} index on qbo employees', async () => {
    const orgId = new Types.ObjectId();
    const base = { orgId, realmId: 'realm-1', qboId: '55', givenName: 'Ada', familyName: 'Lovelace' };
    // Distinct _ids, so it is the {orgId, qboId} index that refuses the second row.
    await QboEmployee.create({ _id: 'a', ...base });
    await expect(QboEmployee.create({ _id: 'b', ...base, givenName: 'Other' })).rejects.toMatchObject({ code: 11000 });
    // The same QBO id in another organization is a different employee.
    await QboEmployee.create({ _id: 'c', ...base, orgId: new Types.ObjectId() });
    expect(await QboEmployee.countDocuments({ qboId: '55' })).toBe(2);

    const indexes = await QboEmployee.collection.indexes();
    const unique = indexes.find((ix) => ix.key.orgId === 1 && ix.key.qboId === 1);
    expect(unique?.unique).toBe(true);
  });

  it('round-trips through Redis', async () => {
    const key = `${env.queuePrefix}:hello`;
    await env.redis.set(key, 'world');
    expect(await env.redis.get(key)).toBe('world');
    expect(await env.redis.ping()).toBe('PONG');
  });

  it('close() drops the database and deletes the prefixed and tracked keys', async () => {
    // A second env on separate clients, so the file's own env stays usable.
    const { Redis } = await import('ioredis');
    const other = new Redis(env.redisUrl, { maxRetriesPerRequest: null });
    try {
      const prefixKey = `${env.queuePrefix}:bull:q:1`;
      const trackedKey = `tracked-${env.queuePrefix}`;
      const foreignKey = `foreign-${env.queuePrefix}`;
      await other.mset(prefixKey, '1', trackedKey, '1', foreignKey, '1');
      env.trackRedisKeys(trackedKey);
      await Organization.create({ name: 'Gone soon' });

      await env.close();

      expect(await other.exists(prefixKey, trackedKey)).toBe(0);
      expect(await other.get(foreignKey)).toBe('1');
      await other.del(foreignKey);

      // Reconnect to the server (no db) and check the test database is gone.
      const { default: mongoose } = await import('mongoose');
      const admin = await mongoose.createConnection(inject('mongoUrl')).asPromise();
      try {
        const { databases } = await admin.db!.admin().listDatabases();
        expect(databases.map((d) => d.name)).not.toContain(env.dbName);
      } finally {
        await admin.close();
      }
    } finally {
      await other.quit();
    }
  });
});
