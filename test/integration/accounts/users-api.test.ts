import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import request from 'supertest';
import { onAccountDeactivated } from '../../../src/accounts/account-events.js';
import { createSession, findActiveSession } from '../../../src/store/saml-sessions.js';
import { testEngines } from '../../support/databases.js';
import { accountsAndAudit, auditCount, auth, createApiKey } from '../../support/fixtures.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';

const BASE = '/api/v1/orgs/acme.com/users';

/** Rows that must stay untouched when a request is refused. */
const snapshot = accountsAndAudit;

for (const engine of testEngines()) {
  describe(`users API (R-ACC-7) [${engine.name}]`, () => {
    let t: TestApp;
    let orgKey: string;
    let userAdminKey: string;
    let betaKey: string;
    const user = (uid: string, over: Record<string, unknown> = {}) => ({
      uid,
      email: `${uid}@acme.com`,
      firstname: uid[0]!.toUpperCase() + uid.slice(1),
      lastname: 'Tester',
      ...over,
    });
    const create = async (body: object, key = orgKey) => {
      const r = await request(t.app).post(BASE).set(auth(key)).send(body);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body as { id: string; [k: string]: unknown };
    };

    before(async () => {
      t = await startTestApp({ engine });
      await request(t.app).post('/api/v1/orgs').set(auth(t.superKey)).send({ slug: 'acme.com', name: 'Acme', domains: ['acme.org'] }).expect(201);
      await request(t.app).post('/api/v1/orgs').set(auth(t.superKey)).send({ slug: 'beta.com', name: 'Beta' }).expect(201);
      orgKey = await createApiKey(t, 'acme.com', 'orgAdmin');
      userAdminKey = await createApiKey(t, 'acme.com', 'userAdmin');
      betaKey = await createApiKey(t, 'beta.com', 'orgAdmin');
    });
    after(() => t.close());

    it('creates an account and shows it in the shape of Appendix A', async () => {
      const r = await request(t.app)
        .post(BASE)
        .set(auth(orgKey))
        .send(user('alice', { email: 'Alice@ACME.org', attributes: { City: 'Paris', isocountry: 'fr' }, ssoId: 'S-alice', updateTimeStamp: '20131030130707.0Z' }))
        .expect(201);
      assert.equal(r.headers.location, `${BASE}/${r.body.id}`);
      assert.deepEqual(
        { ...r.body, id: undefined, createdAt: undefined, updatedAt: undefined },
        {
          id: undefined,
          uid: 'alice',
          email: 'Alice@ACME.org',
          firstname: 'Alice',
          lastname: 'Tester',
          status: 'active',
          role: 'member',
          ssoId: 'S-alice',
          attributes: { city: 'Paris', ISOCountry: 'FR' },
          updateTimeStamp: '2013-10-30T13:07:07.000Z',
          createdAt: undefined,
          updatedAt: undefined,
        },
      );
      assert.equal(r.body.createdAt, new Date(t.clock.now()).toISOString());
      const got = await request(t.app).get(`${BASE}/${r.body.id}`).set(auth(userAdminKey)).expect(200);
      assert.deepEqual(got.body, r.body);
    });

    it('searches by uid, e-mail, q and status, paged, with a total', async () => {
      for (const uid of ['bob', 'carol', 'dave', 'erin']) await create(user(uid, { lastname: uid === 'carol' ? 'Martinez' : 'Tester' }));
      const get = async (query: string) => (await request(t.app).get(`${BASE}?${query}`).set(auth(orgKey)).expect(200)).body;
      const page = await get('pageSize=2&page=2');
      assert.deepEqual({ ...page, items: page.items.map((a: { uid: string }) => a.uid) }, { items: ['carol', 'dave'], page: 2, pageSize: 2, total: 5 });
      assert.deepEqual((await get('q=martinez')).items.map((a: { uid: string }) => a.uid), ['carol']);
      assert.deepEqual((await get('uid=BOB')).items.map((a: { uid: string }) => a.uid), ['bob']);
      assert.deepEqual((await get('email=alice@acme.org')).items.map((a: { uid: string }) => a.uid), ['alice']);
      assert.equal((await get('status=inactive')).total, 0);
      const all = await get('');
      assert.deepEqual([all.page, all.pageSize, all.total], [1, 50, 5]);
      assert.equal((await get('q=&status=&uid=%20')).total, 5, 'empty filters are no filters');
    });

    it('refuses invalid input with 422 naming the field, and changes nothing', async () => {
      const alice = (await request(t.app).get(`${BASE}?uid=alice`).set(auth(orgKey)).expect(200)).body.items[0];
      const cases: Array<['post' | 'patch' | 'get', string, unknown, string]> = [
        ['post', BASE, user('x1', { email: 'not-an-email' }), 'email'],
        ['post', BASE, user('x2', { email: 'x2@evil.com' }), 'email'],
        ['post', BASE, user('x3', { email: 'x3@sub.acme.com' }), 'email'],
        ['post', BASE, { email: 'x4@acme.com', firstname: 'X', lastname: 'Y' }, 'uid'],
        ['post', BASE, user('x5', { firstname: '' }), 'firstname'],
        ['post', BASE, user('x6', { lastname: 'a\u0000b' }), 'lastname'],
        ['post', BASE, user('x7', { role: 'super' }), 'role'],
        ['post', BASE, user('x8', { status: 'gone' }), 'status'],
        ['post', BASE, user('x9', { attributes: { password: 'hunter2' } }), 'attributes.password'],
        ['post', BASE, user('x10', { attributes: { uid: 'other' } }), 'attributes.uid'],
        ['post', BASE, user('x11', { attributes: { ISOCountry: 'XX' } }), 'attributes.ISOCountry'],
        ['post', BASE, user('x12', { updateTimeStamp: 'yesterday' }), 'updateTimeStamp'],
        ['post', BASE, user('x13', { colour: 'red' }), 'body'],
        ['patch', `${BASE}/${alice.id}`, { email: 'alice@evil.com' }, 'email'],
        ['patch', `${BASE}/${alice.id}`, { status: 'inactive' }, 'body'],
        ['patch', `${BASE}/${alice.id}`, { uid: '' }, 'uid'],
        ['get', `${BASE}?pageSize=500`, undefined, 'pageSize'],
        ['get', `${BASE}?page=0`, undefined, 'page'],
        ['get', `${BASE}?status=gone`, undefined, 'status'],
        ['get', `${BASE}?uid=a&uid=b`, undefined, 'uid'],
      ];
      const before = await snapshot(t);
      for (const [method, path, body, field] of cases) {
        const r = await request(t.app)[method](path).set(auth(orgKey)).send(body as object);
        assert.equal(r.status, 422, `${method} ${path} ${JSON.stringify(body)} → ${r.status} ${JSON.stringify(r.body)}`);
        assert.equal(r.type, 'application/problem+json');
        assert.ok(
          r.body.errors.some((e: { field: string }) => e.field === field),
          `${JSON.stringify(body)} should name ${field}: ${JSON.stringify(r.body.errors)}`,
        );
      }
      assert.deepEqual(await snapshot(t), before);
    });

    it('refuses a uid, e-mail or ssoId taken in the org (any case) with 409 naming it', async () => {
      const bob = (await request(t.app).get(`${BASE}?uid=bob`).set(auth(orgKey)).expect(200)).body.items[0];
      const before = await snapshot(t);
      for (const [method, path, body, field] of [
        ['post', BASE, user('BOB', { email: 'bob2@acme.com' }), 'uid'],
        ['post', BASE, user('bob2', { email: 'BOB@acme.com' }), 'email'],
        ['post', BASE, user('bob3', { ssoId: 'S-alice' }), 'ssoId'],
        ['patch', `${BASE}/${bob.id}`, { email: 'carol@ACME.com' }, 'email'],
        ['patch', `${BASE}/${bob.id}`, { uid: 'Carol' }, 'uid'],
      ] as const) {
        const r = await request(t.app)[method](path).set(auth(orgKey)).send(body);
        assert.equal(r.status, 409, `${JSON.stringify(body)} → ${r.status}`);
        assert.equal(r.body.errors[0].field, field);
      }
      assert.deepEqual(await snapshot(t), before);
      // The same identifiers are free in another org.
      await request(t.app).post('/api/v1/orgs/beta.com/users').set(auth(betaKey)).send(user('bob', { email: 'bob@beta.com' })).expect(201);
    });

    it('edits an account: one audit entry with before/after of what changed, none for a no-op', async () => {
      const bob = (await request(t.app).get(`${BASE}?uid=bob`).set(auth(orgKey)).expect(200)).body.items[0];
      let n = await auditCount(t);
      t.clock.advance(1000);
      const r = await request(t.app)
        .patch(`${BASE}/${bob.id}`)
        .set(auth(userAdminKey))
        .send({ firstname: 'Robert', attributes: { jobTitle: 'Dev', city: null } })
        .expect(200);
      assert.equal(r.body.firstname, 'Robert');
      assert.deepEqual(r.body.attributes, { jobTitle: 'Dev' });
      assert.equal(r.body.updatedAt, new Date(t.clock.now()).toISOString());
      assert.equal(await auditCount(t), n + 1);
      const entry = (await request(t.app).get('/api/v1/orgs/acme.com/audit?limit=1').set(auth(orgKey)).expect(200)).body[0];
      assert.equal(entry.action, 'account.update');
      assert.equal(entry.target, `account:${bob.id}`);
      assert.deepEqual(entry.details, { before: { firstname: 'Bob', attributes: { jobTitle: null } }, after: { firstname: 'Robert', attributes: { jobTitle: 'Dev' } } });
      n = await auditCount(t);
      await request(t.app).patch(`${BASE}/${bob.id}`).set(auth(orgKey)).send({ firstname: 'Robert', attributes: { city: '' } }).expect(200);
      assert.equal(await auditCount(t), n, 'no change, no audit entry');
      // The name search follows the edit.
      assert.equal((await request(t.app).get(`${BASE}?q=robert`).set(auth(orgKey)).expect(200)).body.total, 1);
    });

    it('keeps roles to org administrators and admin accounts away from user administrators (403, nothing changed)', async () => {
      const admin = await create(user('boss', { role: 'orgAdmin' }));
      const helper = await create(user('helper', { role: 'userAdmin' }), t.superKey);
      const bob = (await request(t.app).get(`${BASE}?uid=bob`).set(auth(orgKey)).expect(200)).body.items[0];
      const before = await snapshot(t);
      const refusals: Array<['post' | 'patch', string, object]> = [
        ['post', BASE, user('sneaky', { role: 'orgAdmin' })],
        ['post', BASE, user('sneaky2', { role: 'userAdmin' })],
        ['patch', `${BASE}/${bob.id}`, { role: 'orgAdmin' }],
        ['patch', `${BASE}/${admin.id}`, { email: 'mine@acme.com' }],
        ['patch', `${BASE}/${helper.id}`, { firstname: 'X' }],
        ['post', `${BASE}/${admin.id}/deactivate`, {}],
        ['post', `${BASE}/${helper.id}/deactivate`, {}],
      ];
      for (const [method, path, body] of refusals) {
        const r = await request(t.app)[method](path).set(auth(userAdminKey)).send(body);
        assert.equal(r.status, 403, `${method} ${path} ${JSON.stringify(body)} → ${r.status}`);
        assert.equal(r.type, 'application/problem+json');
      }
      // Another org's administrator sees nothing of acme's users.
      for (const [method, path] of [
        ['get', BASE],
        ['post', BASE],
        ['get', `${BASE}/${bob.id}`],
        ['patch', `${BASE}/${bob.id}`],
        ['post', `${BASE}/${bob.id}/deactivate`],
        ['post', `${BASE}/${bob.id}/reactivate`],
        ['get', `${BASE}/export`],
        ['post', `${BASE}/import`],
      ] as const) {
        const r = await request(t.app)[method](path).set(auth(betaKey)).send(user('evil'));
        assert.equal(r.status, 403, `${method} ${path}`);
      }
      assert.deepEqual(await snapshot(t), before);
      // An id of acme's is not found through beta's path, even for a super administrator.
      await request(t.app).get(`/api/v1/orgs/beta.com/users/${bob.id}`).set(auth(t.superKey)).expect(404);
      await request(t.app).get(`${BASE}/${crypto.randomUUID()}`).set(auth(orgKey)).expect(404);
      await request(t.app).get(BASE).expect(401);
      // An org administrator may do what the user administrator may not.
      await request(t.app).patch(`${BASE}/${bob.id}`).set(auth(orgKey)).send({ role: 'userAdmin' }).expect(200);
      await request(t.app).patch(`${BASE}/${bob.id}`).set(auth(orgKey)).send({ role: 'member' }).expect(200);
    });

    it('deactivates and reactivates with one audit entry each, idempotently', async () => {
      const dave = (await request(t.app).get(`${BASE}?uid=dave`).set(auth(orgKey)).expect(200)).body.items[0];
      let n = await auditCount(t);
      const off = await request(t.app).post(`${BASE}/${dave.id}/deactivate`).set(auth(userAdminKey)).expect(200);
      assert.equal(off.body.status, 'inactive');
      assert.equal(await auditCount(t), ++n);
      await request(t.app).post(`${BASE}/${dave.id}/deactivate`).set(auth(userAdminKey)).expect(200);
      assert.equal(await auditCount(t), n, 'already inactive: no change');
      assert.deepEqual((await request(t.app).get(`${BASE}?status=inactive`).set(auth(orgKey)).expect(200)).body.items.map((a: { uid: string }) => a.uid), ['dave']);
      const on = await request(t.app).post(`${BASE}/${dave.id}/reactivate`).set(auth(userAdminKey)).expect(200);
      assert.equal(on.body.status, 'active');
      assert.equal(await auditCount(t), ++n);
      await request(t.app).post(`${BASE}/${dave.id}/reactivate`).set(auth(userAdminKey)).expect(200);
      assert.equal(await auditCount(t), n);
      const actions = (await request(t.app).get('/api/v1/orgs/acme.com/audit?limit=2').set(auth(orgKey)).expect(200)).body.map((e: { action: string }) => e.action);
      assert.deepEqual(actions, ['account.reactivate', 'account.deactivate']);
      await request(t.app).post(`${BASE}/${crypto.randomUUID()}/deactivate`).set(auth(orgKey)).expect(404);
    });

    it('never deactivates or demotes the primary administrator (the last active orgAdmin)', async () => {
      const boss = (await request(t.app).get(`${BASE}?uid=boss`).set(auth(orgKey)).expect(200)).body.items[0];
      const second = await create(user('deputy', { role: 'orgAdmin' }));
      // With two active orgAdmins, one may go.
      await request(t.app).post(`${BASE}/${second.id}/deactivate`).set(auth(orgKey)).expect(200);
      const before = await snapshot(t);
      const r = await request(t.app).post(`${BASE}/${boss.id}/deactivate`).set(auth(t.superKey));
      assert.equal(r.status, 409);
      assert.match(r.body.detail, /primary administrator/);
      const demote = await request(t.app).patch(`${BASE}/${boss.id}`).set(auth(t.superKey)).send({ role: 'member' });
      assert.equal(demote.status, 409);
      assert.equal(demote.body.errors[0].field, 'role');
      assert.deepEqual(await snapshot(t), before);
      // Once another orgAdmin is active again, the first may be deactivated.
      await request(t.app).post(`${BASE}/${second.id}/reactivate`).set(auth(orgKey)).expect(200);
      await request(t.app).post(`${BASE}/${boss.id}/deactivate`).set(auth(orgKey)).expect(200);
      await request(t.app).post(`${BASE}/${boss.id}/reactivate`).set(auth(orgKey)).expect(200);
    });

    it('concurrent deactivations of the last two orgAdmins leave one active', async () => {
      const admins = ['boss', 'deputy'];
      const accounts = await Promise.all(
        admins.map(async (uid) => (await request(t.app).get(`${BASE}?uid=${uid}`).set(auth(orgKey)).expect(200)).body.items[0]),
      );
      const results = await Promise.all(accounts.map((a) => request(t.app).post(`${BASE}/${a.id}/deactivate`).set(auth(orgKey))));
      assert.deepEqual(results.map((r) => r.status).sort(), [200, 409]);
      const active = (await request(t.app).get(`${BASE}?status=active`).set(auth(orgKey)).expect(200)).body.items.filter(
        (a: { role: string }) => a.role === 'orgAdmin',
      );
      assert.equal(active.length, 1);
      for (const a of accounts) await request(t.app).post(`${BASE}/${a.id}/reactivate`).set(auth(orgKey)).expect(200);
    });

    it('deactivation revokes the account’s SAML sessions at once (composition root hook)', async () => {
      const erin = (await request(t.app).get(`${BASE}?uid=erin`).set(auth(orgKey)).expect(200)).body.items[0];
      const org = (await t.ctx.database.db.selectFrom('orgs').select('id').where('slug', '=', 'acme.com').executeTakeFirstOrThrow()).id;
      const now = t.clock.now();
      for (const idHash of ['h1', 'h2']) {
        await createSession(t.ctx.database.db, { idHash, orgId: org, accountId: erin.id, nameId: 'erin', nameIdFormat: null, sessionIndex: null, createdAt: now, expiresAt: now + 3_600_000 });
      }
      await createSession(t.ctx.database.db, { idHash: 'other', orgId: org, accountId: 'someone-else', nameId: 'x', nameIdFormat: null, sessionIndex: null, createdAt: now, expiresAt: now + 3_600_000 });
      await request(t.app).post(`${BASE}/${erin.id}/deactivate`).set(auth(orgKey)).expect(200);
      assert.equal(await findActiveSession(t.ctx.database.db, 'h1', now), undefined);
      assert.equal(await findActiveSession(t.ctx.database.db, 'h2', now), undefined);
      assert.ok(await findActiveSession(t.ctx.database.db, 'other', now));
      await request(t.app).post(`${BASE}/${erin.id}/reactivate`).set(auth(orgKey)).expect(200);
    });

    it('runs deactivation hooks inside the transaction, and rolls back with a failing one', async () => {
      const erin = (await request(t.app).get(`${BASE}?uid=erin`).set(auth(orgKey)).expect(200)).body.items[0];
      const seen: Array<{ accountId: string; now: number; statusInTrx: string }> = [];
      const offSpy = onAccountDeactivated(async (trx, e) => {
        const row = await trx.selectFrom('accounts').select('status').where('id', '=', e.accountId).executeTakeFirstOrThrow();
        seen.push({ accountId: e.accountId, now: e.now, statusInTrx: row.status });
      });
      try {
        await request(t.app).post(`${BASE}/${erin.id}/deactivate`).set(auth(orgKey)).expect(200);
        assert.deepEqual(seen, [{ accountId: erin.id, now: t.clock.now(), statusInTrx: 'inactive' }]);
        await request(t.app).post(`${BASE}/${erin.id}/reactivate`).set(auth(orgKey)).expect(200);
        assert.equal(seen.length, 1, 'reactivation runs no deactivation hook');

        const offFail = onAccountDeactivated(async (trx, e) => {
          // Written in the transaction, so it must vanish with it.
          await trx.insertInto('audit_log').values({ at: e.now, org_id: e.orgId, actor: 'hook', action: 'hook.ran', target: 'x', details: '{}' }).execute();
          throw new Error('token store unavailable');
        });
        try {
          const before = await snapshot(t);
          const r = await request(t.app).post(`${BASE}/${erin.id}/deactivate`).set(auth(orgKey));
          assert.equal(r.status, 500);
          assert.deepEqual(await snapshot(t), before, 'account still active, no audit entry, hook writes rolled back');
        } finally {
          offFail();
        }
      } finally {
        offSpy();
      }
    });
  });
}
