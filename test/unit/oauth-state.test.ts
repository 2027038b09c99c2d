import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createState, signState, verifyState } from '../../src/qbo/oauth-state';

const SECRET = 'state-secret-0123456789abcdef0123456789';
const NOW = Date.UTC(2026, 0, 1);

describe('OAuth state', () => {
  it('round-trips the organisation, nonce and expiry', () => {
    const s = createState('64b7f0c2a1b2c3d4e5f60718', SECRET, 600, NOW);
    const v = verifyState(s.state, SECRET, NOW + 1000);
    expect(v).toEqual({ ok: true, orgId: '64b7f0c2a1b2c3d4e5f60718', nonce: s.nonce, expiresAt: Math.floor(NOW / 1000) + 600 });
  });

  it('gives every state its own nonce', () => {
    expect(createState('o', SECRET, 60, NOW).nonce).not.toBe(createState('o', SECRET, 60, NOW).nonce);
  });

  it('expires', () => {
    const s = createState('o', SECRET, 60, NOW);
    expect(verifyState(s.state, SECRET, NOW + 59_000).ok).toBe(true);
    expect(verifyState(s.state, SECRET, NOW + 60_000)).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses another secret, a changed payload and a changed signature', () => {
    const { state } = createState('org-1', SECRET, 60, NOW);
    expect(verifyState(state, `${SECRET}x`, NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    const [v, , sig] = state.split('.');
    const other = Buffer.from(JSON.stringify({ o: 'org-2', n: 'n', e: NOW / 1000 + 60 })).toString('base64url');
    expect(verifyState(`${v}.${other}.${sig}`, SECRET, NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyState(`${state.slice(0, -1)}${state.endsWith('A') ? 'B' : 'A'}`, SECRET, NOW).ok).toBe(false);
    // Every other spelling of the signature's last character, even one that decodes to the same bytes.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (const c of alphabet) {
      if (c !== state.at(-1)) expect(verifyState(`${state.slice(0, -1)}${c}`, SECRET, NOW).ok, c).toBe(false);
    }
  });

  it('refuses what is not a state, before decoding anything', () => {
    for (const s of [undefined, null, '']) expect(verifyState(s, SECRET, NOW)).toEqual({ ok: false, reason: 'missing' });
    for (const s of ['x', 'v1.a', 'v2.a.b', 'v1..b', 'v1.a.b.c']) expect(verifyState(s, SECRET, NOW).ok).toBe(false);
  });

  it('refuses a well-signed payload of the wrong shape', () => {
    const body = Buffer.from(JSON.stringify({ o: 1 })).toString('base64url');
    const sig = createHmac('sha256', SECRET).update(`v1.${body}`).digest('base64url');
    expect(verifyState(`v1.${body}.${sig}`, SECRET, NOW)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyState(signState({ orgId: 'o', nonce: 'n', expiresAt: NOW / 1000 + 5 }, SECRET), SECRET, NOW).ok).toBe(true);
  });
});
