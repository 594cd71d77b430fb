/**
 * Accounts made and kept by SAML sign-ins, end to end through the ACS on both engines (R-ACC-2
 * … R-ACC-6, issue 7): a Response signed by the test IdP creates the account from its
 * attributes, a later one with a newer updateTimeStamp (long, UTC ISO, LDIF) updates it, an
 * older, equal or unreadable one does not, groupid is taken on creation only, deactivated
 * accounts, foreign e-mail domains and missing attributes are refused with nothing written,
 * administrators sign in unchanged, and "remove uid domain suffix" needs ssoid. Every account
 * is read back through the users API, never from what the ACS answered.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import request from 'supertest';
import { testEngines } from '../../support/databases.js';
import { assertRefused, assertSignedIn, auth, startSamlScenario, type SamlScenario } from '../../support/saml-scenario.js';

const T = Date.UTC(2024, 0, 15, 10, 0, 0); // 2024-01-15T10:00:00Z
const iso = (ms: number) => new Date(ms).toISOString();

/** The "Details" entry of the SSO error page (views/sso-error.html). */
function pageDetail(page: string | undefined): string | undefined {
  return /<dd id="error-detail">([^<]*)<\/dd>/.exec(page ?? '')?.[1];
}

interface UserView {
  id: string;
  uid: string;
  email: string;
  firstname: string;
  lastname: string;
  status: string;
  role: string;
  ssoId: string | null;
  attributes: Record<string, string>;
  updateTimeStamp: string | null;
  updatedAt: string;
}

for (const engine of testEngines()) {
  describe(`SAML ACS: accounts created and updated by sign-in [${engine.name}]`, function () {
    this.timeout(60_000);
    let s: SamlScenario;

    before(async () => {
      s = await startSamlScenario({ engine, sso: { autoAccountUpdate: true } });
    });
    after(() => s?.close());

    // Each sign-in a second later, so an update would show in updatedAt.
    beforeEach(() => s.clock.advance(1000));

    async function getUser(id: string): Promise<UserView> {
      const res = await request(s.t.app).get(`/api/v1/orgs/${s.slug}/users/${id}`).set(auth(s.adminKey));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body as UserView;
    }

    async function findUsers(query: Record<string, string>, scenario = s): Promise<UserView[]> {
      const res = await request(scenario.t.app).get(`/api/v1/orgs/${scenario.slug}/users`).query(query).set(auth(scenario.adminKey));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.items as UserView[];
    }

    /** A fresh user of the org (uid, e-mail in the org's domain, names), with extra attributes. */
    function newUser(extra: Record<string, string> = {}) {
      const u = s.user();
      return { nameId: u.nameId, uid: u.attributes.uid!, email: u.attributes.email!, attributes: { ...u.attributes, ...extra } };
    }

    async function signIn(nameId: string, attributes: Record<string, string>) {
      s.clock.advance(1000);
      return s.signIn({ nameId, attributes });
    }

    /** Signs a new user in and returns the account the users API shows for it. */
    async function createBySignIn(extra: Record<string, string> = {}) {
      const u = newUser(extra);
      const r = await signIn(u.nameId, u.attributes);
      const { account } = await assertSignedIn(s, r, { nameId: u.nameId });
      assert.equal(r.after.accounts, r.before.accounts + 1, 'one account created');
      return { ...u, account: await getUser(account.id) };
    }

    it('creates an active member from the assertion attributes', async () => {
      const u = newUser({ updateTimeStamp: String(T), city: 'Paris', ISOCountry: 'fr', ssoid: `S-${crypto.randomUUID()}`, role: 'orgAdmin' });
      assert.deepEqual(await findUsers({ uid: u.uid }), [], 'no account before');
      const r = await signIn(u.nameId, u.attributes);
      const { account } = await assertSignedIn(s, r, { nameId: u.nameId });
      assert.equal(r.after.accounts, r.before.accounts + 1);
      const [listed] = await findUsers({ uid: u.uid });
      assert.ok(listed, 'the users API lists the new account');
      assert.equal(listed.id, account.id, 'the session belongs to the created account');
      assert.deepEqual(
        {
          uid: listed.uid,
          email: listed.email,
          firstname: listed.firstname,
          lastname: listed.lastname,
          status: listed.status,
          role: listed.role,
          ssoId: listed.ssoId,
          attributes: listed.attributes,
          updateTimeStamp: listed.updateTimeStamp,
        },
        {
          uid: u.uid,
          email: u.email,
          firstname: 'Test',
          lastname: u.uid,
          status: 'active',
          // An assertion claiming a role never makes an administrator.
          role: 'member',
          ssoId: u.attributes.ssoid,
          attributes: { city: 'Paris', ISOCountry: 'FR' },
          updateTimeStamp: iso(T),
        },
      );
    });

    it('a second sign-in without changes signs in to the same account', async () => {
      const u = await createBySignIn({ updateTimeStamp: String(T) });
      const r = await signIn(u.nameId, u.attributes);
      const { account } = await assertSignedIn(s, r, { nameId: u.nameId });
      assert.equal(account.id, u.account.id);
      assert.equal(r.after.accounts, r.before.accounts, 'no second account');
      assert.deepEqual(await getUser(u.account.id), u.account);
    });

    it('updates with a newer updateTimeStamp in each format: long, UTC ISO, LDIF', async () => {
      const u = await createBySignIn({ updateTimeStamp: String(T), city: 'Paris' });
      const steps: Array<[format: string, stamp: string, ms: number]> = [
        ['long (epoch ms)', String(T + 1000), T + 1000],
        ['UTC ISO-8601', '2024-01-15T10:00:02Z', T + 2000],
        ['LDIF generalized time', '20240115100003.0Z', T + 3000],
      ];
      let n = 0;
      for (const [format, stamp, ms] of steps) {
        n++;
        const r = await signIn(u.nameId, { ...u.attributes, firstname: `First${n}`, lastname: `Last${n}`, city: `City${n}`, updateTimeStamp: stamp });
        const { account } = await assertSignedIn(s, r, { nameId: u.nameId });
        assert.equal(account.id, u.account.id, format);
        assert.equal(r.after.accounts, r.before.accounts, `${format}: no new account`);
        const after = await getUser(u.account.id);
        assert.deepEqual(
          { firstname: after.firstname, lastname: after.lastname, city: after.attributes.city, updateTimeStamp: after.updateTimeStamp },
          { firstname: `First${n}`, lastname: `Last${n}`, city: `City${n}`, updateTimeStamp: iso(ms) },
          format,
        );
        assert.equal(after.updatedAt, iso(s.clock.now()), `${format}: updatedAt moved`);
      }
    });

    it('does not update with an older, equal or unreadable updateTimeStamp, or none', async () => {
      const u = await createBySignIn({ updateTimeStamp: '20240115100003Z', city: 'Paris' });
      assert.equal(u.account.updateTimeStamp, iso(T + 3000));
      const stamps: Array<[why: string, stamp: string | undefined]> = [
        ['older (long)', String(T + 2999)],
        ['older (UTC ISO)', '2024-01-15T10:00:02Z'],
        ['equal (long)', String(T + 3000)],
        ['equal (UTC ISO)', '2024-01-15T10:00:03Z'],
        ['equal (LDIF)', '20240115100003.0Z'],
        ['garbage', 'yesterday at noon'],
        ['LDIF without a zone is ambiguous', '20240115100009'],
        ['absent', undefined],
      ];
      for (const [why, stamp] of stamps) {
        const attributes: Record<string, string> = { ...u.attributes, firstname: 'Changed', city: 'Lyon' };
        if (stamp === undefined) delete attributes.updateTimeStamp;
        else attributes.updateTimeStamp = stamp;
        const r = await signIn(u.nameId, attributes);
        const { account } = await assertSignedIn(s, r, { nameId: u.nameId });
        assert.equal(account.id, u.account.id, why);
        assert.deepEqual(await getUser(u.account.id), u.account, `${why}: the account is unchanged`);
      }
    });

    it('takes groupid on creation only', async () => {
      const u = await createBySignIn({ updateTimeStamp: String(T), groupid: 'G-first' });
      assert.equal(u.account.attributes.groupid, 'G-first');
      const r = await signIn(u.nameId, { ...u.attributes, groupid: 'G-second', jobTitle: 'CTO', updateTimeStamp: String(T + 1) });
      await assertSignedIn(s, r, { nameId: u.nameId });
      const after = await getUser(u.account.id);
      assert.equal(after.attributes.jobTitle, 'CTO', 'the update was applied');
      assert.equal(after.attributes.groupid, 'G-first', 'but not to groupid');

      // A user created without groupid does not get one from a later update either.
      const v = await createBySignIn({ updateTimeStamp: String(T) });
      await assertSignedIn(s, await signIn(v.nameId, { ...v.attributes, groupid: 'G-late', jobTitle: 'Dev', updateTimeStamp: String(T + 1) }), { nameId: v.nameId });
      const later = await getUser(v.account.id);
      assert.equal(later.attributes.jobTitle, 'Dev');
      assert.equal(later.attributes.groupid, undefined);
    });

    it('refuses a deactivated account (SSO_ACCOUNT_INACTIVE): no session, no new account, nothing changed', async () => {
      const u = await createBySignIn({ updateTimeStamp: String(T) });
      const earlier = await signIn(u.nameId, u.attributes);
      const { session } = await assertSignedIn(s, earlier, { nameId: u.nameId });
      assert.equal(session.account_id, u.account.id);
      const cookie = earlier.outcome.ok ? earlier.outcome.sessionCookie : '';
      const deactivated = await request(s.t.app).post(`/api/v1/orgs/${s.slug}/users/${u.account.id}/deactivate`).set(auth(s.adminKey));
      assert.equal(deactivated.status, 200, JSON.stringify(deactivated.body));
      const before = await getUser(u.account.id);
      assert.equal(before.status, 'inactive');
      assert.notEqual((await s.sessionFor(cookie))?.revoked_at ?? null, null, 'deactivation revoked the open session');

      // Even with a newer profile: a deactivated account is neither signed in nor updated.
      const r = await signIn(u.nameId, { ...u.attributes, firstname: 'Back', updateTimeStamp: String(T + 1000) });
      assertRefused(r, 'SSO_ACCOUNT_INACTIVE');
      assert.deepEqual(await getUser(u.account.id), before);
      assert.equal((await findUsers({ email: u.email })).length, 1, 'no second account for the same person');
    });

    it('refuses a new user with an e-mail outside the org domains (SSO_DOMAIN), creating nothing', async () => {
      for (const domain of ['evil.example', `sub.${s.slug}`, `${s.slug}.evil.example`]) {
        const u = newUser();
        const email = `${u.uid}@${domain}`;
        const r = await signIn(email, { ...u.attributes, email });
        assertRefused(r, 'SSO_DOMAIN', domain);
        assert.deepEqual(await findUsers({ uid: u.uid }), [], `${domain}: no account`);
      }
    });

    it('refuses a new user missing required attributes (SSO_MISSING_ATTRIBUTE), naming them on the page', async () => {
      const u = newUser();
      const { firstname: _f, email: _e, ...rest } = u.attributes;
      const r = await signIn(u.nameId, rest);
      assertRefused(r, 'SSO_MISSING_ATTRIBUTE');
      assert.ok(!r.outcome.ok && r.outcome.via === 'page', 'the scenario org has no error URL: the page is shown');
      assert.equal(pageDetail(r.outcome.page), 'firstname, email', 'the page names the missing attributes');
      assert.deepEqual(await findUsers({ uid: u.uid }), []);

      for (const name of ['uid', 'firstname', 'lastname', 'email'] as const) {
        const v = newUser();
        const { [name]: _dropped, ...others } = v.attributes;
        const refused = await signIn(v.nameId, others);
        assertRefused(refused, 'SSO_MISSING_ATTRIBUTE', name);
        assert.equal(pageDetail(!refused.outcome.ok ? refused.outcome.page : undefined), name, `the page names ${name}`);
        assert.deepEqual(await findUsers({ email: v.email }), [], `without ${name}: no account`);
      }
    });

    for (const role of ['orgAdmin', 'userAdmin'] as const) {
      it(`signs ${role === 'orgAdmin' ? 'an' : 'a'} ${role} in but leaves the account unchanged, even with a newer updateTimeStamp`, async () => {
        const local = `${role.toLowerCase()}${crypto.randomBytes(3).toString('hex')}`;
        const email = `${local}@${s.slug}`;
        const { id } = await s.createAccount({
          uid: local,
          email,
          firstname: 'Ada',
          lastname: 'Admin',
          role,
          updateTimeStamp: T,
          attributes: { city: 'Paris' },
        });
        const before = await getUser(id);
        assert.equal(before.role, role);

        const r = await signIn(email, {
          uid: local,
          email,
          firstname: 'Mallory',
          lastname: 'Renamed',
          city: 'Lyon',
          groupid: 'G-x',
          role: 'member',
          updateTimeStamp: String(T + 60_000),
        });
        const { account } = await assertSignedIn(s, r, { nameId: email });
        assert.equal(account.id, id, 'signed in to the administrator account');
        assert.equal(r.after.accounts, r.before.accounts, 'no new account');
        assert.deepEqual(await getUser(id), before, 'names, attributes, timestamp, role and updatedAt unchanged');
      });
    }

    it('the same sign-in does update a member, so the administrator rule is what held it back', async () => {
      const local = `member${crypto.randomBytes(3).toString('hex')}`;
      const email = `${local}@${s.slug}`;
      const { id } = await s.createAccount({ uid: local, email, firstname: 'Ada', lastname: 'Member', updateTimeStamp: T });
      const r = await signIn(email, { uid: local, email, firstname: 'Mallory', lastname: 'Renamed', updateTimeStamp: String(T + 60_000) });
      await assertSignedIn(s, r, { nameId: email });
      const after = await getUser(id);
      assert.deepEqual([after.firstname, after.lastname, after.role], ['Mallory', 'Renamed', 'member']);
    });

    describe('remove uid domain suffix (R-ACC-5)', () => {
      let stripping: SamlScenario;

      before(async () => {
        // A second org on the same app: the setting is per organisation.
        stripping = await startSamlScenario({ app: s.t, idp: s.idp, sso: { removeUidDomainSuffix: true, autoAccountUpdate: true } });
      });

      it('refuses a sign-in without ssoid (SSO_UID_DOMAIN), creating nothing', async () => {
        const u = stripping.user();
        s.clock.advance(1000);
        const r = await stripping.signIn({ nameId: u.nameId, attributes: { ...u.attributes, uid: u.nameId } });
        assertRefused(r, 'SSO_UID_DOMAIN');
        assert.deepEqual(await findUsers({ email: u.attributes.email! }, stripping), []);
      });

      it('with ssoid, creates the account with the suffix removed', async () => {
        const u = stripping.user();
        const ssoid = `S-${crypto.randomUUID()}`;
        s.clock.advance(1000);
        const r = await stripping.signIn({ nameId: u.nameId, attributes: { ...u.attributes, uid: `CORP\\${u.nameId}`, ssoid } });
        await assertSignedIn(stripping, r, { nameId: u.nameId });
        const [listed] = await findUsers({ email: u.attributes.email! }, stripping);
        assert.deepEqual([listed?.uid, listed?.ssoId], [u.attributes.uid, ssoid]);
      });
    });
  });
}
