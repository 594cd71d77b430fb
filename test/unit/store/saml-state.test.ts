import assert from 'node:assert/strict';
import { consumeAuthnRequest, findByRelayState, purgeExpiredAuthnRequests, saveAuthnRequest } from '../../../src/store/authn-requests.js';
import { isUniqueViolation, openDatabase, type Executor } from '../../../src/store/database.js';
import { purgeExpiredAssertionIds, rememberAssertionId } from '../../../src/store/replay-cache.js';
import {
  createSession,
  findActiveSession,
  purgeExpiredSessions,
  revokeSession,
  revokeSessionsBySessionIndex,
  revokeSessionsOfAccount,
} from '../../../src/store/saml-sessions.js';
import { findSsoConfig, hasActiveServiceCertificate, upsertSsoConfig } from '../../../src/store/sso-configs.js';
import { hashSessionId, newSessionId } from '../../../src/saml/session-cookie.js';
import { testEngines, type TestDatabase } from '../../support/databases.js';
import { insertTestOrg } from '../../support/fixtures.js';

/**
 * The store contract of the SAML SP state (R-SAML-2/3/6, R-OPS-2), on every engine. The
 * concurrency cases matter most on PostgreSQL, where the pool runs the calls on separate
 * connections; a second handle on the same database stands for a second instance.
 */
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const MIN = 60_000;

for (const engine of testEngines()) {
  describe(`store contract: SAML state [${engine.name}]`, () => {
    let t: TestDatabase;
    let db: Executor;
    beforeEach(async () => {
      t = await engine.open();
      db = t.handle.db;
      for (const slug of ['acme.com', 'beta.com']) {
        await insertTestOrg(db, { id: `org-${slug}`, slug, createdAt: T0 });
      }
    });
    afterEach(() => t.drop());

    const request = (id: string, extra: Partial<Parameters<typeof saveAuthnRequest>[1]> = {}) => ({
      id,
      orgId: 'org-acme.com',
      relayState: `rs-${id}`,
      target: `https://app.acme.com/${id}`,
      createdAt: T0,
      expiresAt: T0 + 10 * MIN,
      ...extra,
    });

    describe('AuthnRequest ids', () => {
      it('are consumed once, returning the target and RelayState', async () => {
        await saveAuthnRequest(db, request('_a1'));
        assert.deepEqual(await consumeAuthnRequest(db, { id: '_a1', orgId: 'org-acme.com', now: T0 + MIN }), {
          target: 'https://app.acme.com/_a1',
          relayState: 'rs-_a1',
        });
        assert.equal(await consumeAuthnRequest(db, { id: '_a1', orgId: 'org-acme.com', now: T0 + MIN }), undefined);
      });

      it('keep a null target and RelayState', async () => {
        await saveAuthnRequest(db, request('_a2', { target: null, relayState: null }));
        assert.deepEqual(await consumeAuthnRequest(db, { id: '_a2', orgId: 'org-acme.com', now: T0 }), { target: null, relayState: null });
      });

      it('cannot be consumed by another org, and stay usable by their own', async () => {
        await saveAuthnRequest(db, request('_a3'));
        assert.equal(await consumeAuthnRequest(db, { id: '_a3', orgId: 'org-beta.com', now: T0 }), undefined);
        assert.ok(await consumeAuthnRequest(db, { id: '_a3', orgId: 'org-acme.com', now: T0 }));
      });

      it('cannot be consumed at or after their expiry', async () => {
        await saveAuthnRequest(db, request('_a4'));
        assert.equal(await consumeAuthnRequest(db, { id: '_a4', orgId: 'org-acme.com', now: T0 + 10 * MIN }), undefined);
        assert.equal(await consumeAuthnRequest(db, { id: '_a4', orgId: 'org-acme.com', now: T0 + 11 * MIN }), undefined);
        assert.equal((await findByRelayState(db, 'org-acme.com', 'rs-_a4'))?.consumedAt, null, 'a refused consume leaves no mark');
        assert.ok(await consumeAuthnRequest(db, { id: '_a4', orgId: 'org-acme.com', now: T0 + 10 * MIN - 1 }));
      });

      it('unknown ids consume nothing', async () => {
        assert.equal(await consumeAuthnRequest(db, { id: '_nope', orgId: 'org-acme.com', now: T0 }), undefined);
      });

      it('are found by RelayState within their org only, with their state', async () => {
        await saveAuthnRequest(db, request('_a5'));
        const found = await findByRelayState(db, 'org-acme.com', 'rs-_a5');
        assert.deepEqual(found, { ...request('_a5'), consumedAt: null });
        assert.equal(await findByRelayState(db, 'org-beta.com', 'rs-_a5'), undefined);
        await consumeAuthnRequest(db, { id: '_a5', orgId: 'org-acme.com', now: T0 + 5 });
        assert.equal((await findByRelayState(db, 'org-acme.com', 'rs-_a5'))?.consumedAt, T0 + 5);
      });

      it('one RelayState names one request per org; ids are unique', async () => {
        await saveAuthnRequest(db, request('_a6', { relayState: 'shared' }));
        await assert.rejects(saveAuthnRequest(db, request('_a7', { relayState: 'shared' })), (e) => isUniqueViolation(e));
        await saveAuthnRequest(db, request('_a8', { relayState: 'shared', orgId: 'org-beta.com' }));
        await assert.rejects(saveAuthnRequest(db, request('_a6', { relayState: 'other' })), (e) => isUniqueViolation(e));
        // Several requests without RelayState do not collide.
        await saveAuthnRequest(db, request('_a9', { relayState: null }));
        await saveAuthnRequest(db, request('_a10', { relayState: null }));
      });

      it('20 concurrent consumers of one id: exactly one wins', async () => {
        await saveAuthnRequest(db, request('_race'));
        const results = await Promise.all(
          Array.from({ length: 20 }, () => consumeAuthnRequest(db, { id: '_race', orgId: 'org-acme.com', now: T0 + MIN })),
        );
        assert.equal(results.filter((r) => r !== undefined).length, 1);
      });

      it('two instances racing on one id: exactly one wins', async () => {
        const second = openDatabase(t.url);
        try {
          for (let round = 0; round < 5; round++) {
            const id = `_inst${round}`;
            await saveAuthnRequest(db, request(id));
            const results = await Promise.all(
              Array.from({ length: 10 }, (_, i) =>
                consumeAuthnRequest(i % 2 === 0 ? db : second.db, { id, orgId: 'org-acme.com', now: T0 + MIN }),
              ),
            );
            assert.equal(results.filter((r) => r !== undefined).length, 1, `round ${round}`);
          }
        } finally {
          await second.close();
        }
      });

      it('purges expired requests only', async () => {
        await saveAuthnRequest(db, request('_old', { expiresAt: T0 + MIN }));
        await saveAuthnRequest(db, request('_new', { expiresAt: T0 + 10 * MIN }));
        assert.equal(await purgeExpiredAuthnRequests(db, T0 + MIN), 1);
        assert.equal(await findByRelayState(db, 'org-acme.com', 'rs-_old'), undefined);
        assert.ok(await findByRelayState(db, 'org-acme.com', 'rs-_new'));
      });
    });

    describe('replay cache', () => {
      const remember = (assertionId: string, now: number, expiresAt = T0 + 5 * MIN, orgId = 'org-acme.com') =>
        rememberAssertionId(db, { orgId, assertionId, expiresAt, now });

      it('accepts an assertion id once', async () => {
        assert.equal(await remember('_as1', T0), true);
        assert.equal(await remember('_as1', T0 + MIN), false);
        assert.equal(await remember('_as1', T0 + 5 * MIN - 1), false);
      });

      it('keeps orgs apart', async () => {
        assert.equal(await remember('_as2', T0), true);
        assert.equal(await remember('_as2', T0, T0 + 5 * MIN, 'org-beta.com'), true);
      });

      it('reuses an expired entry, and the new expiry counts', async () => {
        assert.equal(await remember('_as3', T0, T0 + MIN), true);
        assert.equal(await remember('_as3', T0 + MIN, T0 + 3 * MIN), true, 'expired at T0+1min');
        assert.equal(await remember('_as3', T0 + 2 * MIN, T0 + 4 * MIN), false, 'live until T0+3min');
        assert.equal(await remember('_as3', T0 + 3 * MIN, T0 + 4 * MIN), true);
      });

      it('20 concurrent first uses of one id: exactly one is accepted', async () => {
        const results = await Promise.all(Array.from({ length: 20 }, () => remember('_as4', T0)));
        assert.equal(results.filter(Boolean).length, 1);
      });

      it('20 concurrent reuses of one expired id: exactly one is accepted', async () => {
        assert.equal(await remember('_as5', T0, T0 + MIN), true);
        const second = openDatabase(t.url);
        try {
          const results = await Promise.all(
            Array.from({ length: 20 }, (_, i) =>
              rememberAssertionId(i % 2 === 0 ? db : second.db, {
                orgId: 'org-acme.com',
                assertionId: '_as5',
                expiresAt: T0 + 10 * MIN,
                now: T0 + 2 * MIN,
              }),
            ),
          );
          assert.equal(results.filter(Boolean).length, 1);
        } finally {
          await second.close();
        }
      });

      it('purges expired ids only', async () => {
        await remember('_old', T0, T0 + MIN);
        await remember('_new', T0, T0 + 10 * MIN);
        assert.equal(await purgeExpiredAssertionIds(db, T0 + MIN), 1);
        assert.equal(await remember('_new', T0 + 2 * MIN), false);
      });
    });

    describe('sessions', () => {
      const session = (id: string, extra: Partial<Parameters<typeof createSession>[1]> = {}) => ({
        idHash: hashSessionId(id),
        orgId: 'org-acme.com',
        accountId: 'acct-1',
        nameId: 'alice@acme.com',
        nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
        sessionIndex: '_idx1',
        createdAt: T0,
        expiresAt: T0 + 60 * MIN,
        ...extra,
      });

      it('are found by the hash of the cookie value while active', async () => {
        const id = newSessionId();
        const created = await createSession(db, session(id));
        assert.deepEqual(await findActiveSession(db, hashSessionId(id), T0 + MIN), created);
        assert.equal(created.revokedAt, null);
        assert.equal(await findActiveSession(db, id, T0 + MIN), undefined, 'the raw value is not a key');
        assert.equal(await findActiveSession(db, hashSessionId(newSessionId()), T0 + MIN), undefined);
      });

      it('end at their expiry', async () => {
        const id = newSessionId();
        await createSession(db, session(id));
        assert.ok(await findActiveSession(db, hashSessionId(id), T0 + 60 * MIN - 1));
        assert.equal(await findActiveSession(db, hashSessionId(id), T0 + 60 * MIN), undefined);
      });

      it('store no raw cookie value', async () => {
        const id = newSessionId();
        await createSession(db, session(id));
        const rows = await db.selectFrom('saml_sessions').selectAll().execute();
        assert.equal(JSON.stringify(rows).includes(id), false);
      });

      it('are revoked one by one, once', async () => {
        const a = newSessionId();
        const b = newSessionId();
        await createSession(db, session(a));
        await createSession(db, session(b));
        assert.equal(await revokeSession(db, hashSessionId(a), T0 + MIN), true);
        assert.equal(await revokeSession(db, hashSessionId(a), T0 + 2 * MIN), false);
        assert.equal(await findActiveSession(db, hashSessionId(a), T0 + 2 * MIN), undefined);
        assert.ok(await findActiveSession(db, hashSessionId(b), T0 + 2 * MIN));
        const row = await db.selectFrom('saml_sessions').select('revoked_at').where('id_hash', '=', hashSessionId(a)).executeTakeFirstOrThrow();
        assert.equal(row.revoked_at, T0 + MIN, 'the first revocation time stays');
      });

      it('are revoked for a whole account, reporting which', async () => {
        const [a, b, c] = [newSessionId(), newSessionId(), newSessionId()];
        await createSession(db, session(a));
        await createSession(db, session(b));
        await createSession(db, session(c, { accountId: 'acct-2' }));
        await revokeSession(db, hashSessionId(b), T0);
        assert.deepEqual(await revokeSessionsOfAccount(db, 'acct-1', T0 + MIN), [hashSessionId(a)]);
        assert.equal(await findActiveSession(db, hashSessionId(a), T0 + MIN), undefined);
        assert.ok(await findActiveSession(db, hashSessionId(c), T0 + MIN));
        assert.deepEqual(await revokeSessionsOfAccount(db, 'acct-1', T0 + 2 * MIN), []);
      });

      it('are revoked by NameID and SessionIndex for single logout, within the org', async () => {
        const [a, b, c, d] = [newSessionId(), newSessionId(), newSessionId(), newSessionId()];
        await createSession(db, session(a, { sessionIndex: '_idx1' }));
        await createSession(db, session(b, { sessionIndex: '_idx2' }));
        await createSession(db, session(c, { sessionIndex: '_idx1', orgId: 'org-beta.com' }));
        await createSession(db, session(d, { sessionIndex: '_idx3', nameId: 'bob@acme.com' }));
        assert.deepEqual(await revokeSessionsBySessionIndex(db, 'org-acme.com', 'alice@acme.com', '_idx1', T0 + MIN), [hashSessionId(a)]);
        assert.ok(await findActiveSession(db, hashSessionId(b), T0 + MIN));
        assert.ok(await findActiveSession(db, hashSessionId(c), T0 + MIN), 'another org is untouched');
        // Without SessionIndex: every session of that NameID in the org.
        assert.deepEqual(await revokeSessionsBySessionIndex(db, 'org-acme.com', 'alice@acme.com', undefined, T0 + MIN), [hashSessionId(b)]);
        assert.ok(await findActiveSession(db, hashSessionId(c), T0 + MIN));
        assert.ok(await findActiveSession(db, hashSessionId(d), T0 + MIN), 'another NameID is untouched');
      });

      it('have unique ids', async () => {
        const id = newSessionId();
        await createSession(db, session(id));
        await assert.rejects(createSession(db, session(id)), (e) => isUniqueViolation(e));
      });

      it('are purged once expired', async () => {
        const [a, b] = [newSessionId(), newSessionId()];
        await createSession(db, session(a, { expiresAt: T0 + MIN }));
        await createSession(db, session(b));
        assert.equal(await purgeExpiredSessions(db, T0 + MIN), 1);
        assert.ok(await findActiveSession(db, hashSessionId(b), T0 + MIN));
      });
    });

    describe('SSO configurations', () => {
      it('keep one row per org, replaced on save', async () => {
        assert.equal(await findSsoConfig(db, 'org-acme.com'), undefined);
        await upsertSsoConfig(db, 'org-acme.com', { idpEntityId: 'urn:a' }, T0);
        await upsertSsoConfig(db, 'org-acme.com', { idpEntityId: 'urn:b' }, T0 + MIN);
        assert.deepEqual(await findSsoConfig(db, 'org-acme.com'), {
          orgId: 'org-acme.com',
          config: { idpEntityId: 'urn:b' },
          createdAt: T0,
          updatedAt: T0 + MIN,
        });
        assert.equal(await findSsoConfig(db, 'org-beta.com'), undefined);
      });

      it('see whether the org has an active service certificate', async () => {
        assert.equal(await hasActiveServiceCertificate(db, 'org-acme.com'), false);
        const cert = (id: string, active: number) => ({
          id,
          org_id: 'org-acme.com',
          alias: id,
          certificate_pem: 'placeholder',
          private_key_sealed: 'placeholder',
          fingerprint_sha256: id,
          not_after: T0 + 365 * 24 * 60 * MIN,
          active,
          created_at: T0,
        });
        await db.insertInto('service_certificates').values(cert('inactive', 0)).execute();
        assert.equal(await hasActiveServiceCertificate(db, 'org-acme.com'), false);
        await db.insertInto('service_certificates').values(cert('active', 1)).execute();
        assert.equal(await hasActiveServiceCertificate(db, 'org-acme.com'), true);
        assert.equal(await hasActiveServiceCertificate(db, 'org-beta.com'), false);
      });
    });
  });

  describe(`store contract: SAML state without the certificates table [${engine.name}]`, () => {
    it('says plainly that service_certificates is missing', async () => {
      const bare = await engine.open({ migrate: false });
      try {
        await assert.rejects(hasActiveServiceCertificate(bare.handle.db, 'org'), /table service_certificates does not exist/);
      } finally {
        await bare.drop();
      }
    });
  });
}
