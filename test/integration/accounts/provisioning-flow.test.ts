import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { provisionAccount, type ProvisionAccountInput, type ProvisioningConfig } from '../../../src/accounts/provisioning-flow.js';
import { SsoError, type SsoErrorCode } from '../../../src/saml/sso-error.js';
import { findAccountById, insertAccount, setAccountStatus, type Account, type NewAccount } from '../../../src/store/accounts.js';
import { testEngines } from '../../support/databases.js';
import { insertTestOrg } from '../../support/fixtures.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';

const T = Date.UTC(2013, 9, 30, 13, 7, 7); // 2013-10-30T13:07:07Z
const CONFIG: ProvisioningConfig = { autoAccountCreation: true, autoAccountUpdate: true, removeUidDomainSuffix: false, attributeMap: {} };
const REQUIRED = { uid: 'jdoe', firstname: 'John', lastname: 'Doe', email: 'jdoe@acme.com' };
// Values that must never reach the log or the audit log.
const PHONE = '+1 555 0100 private';
const STREET = '12 Secret Street';

interface ProvisionOptions {
  nameId?: string;
  config?: Partial<ProvisioningConfig>;
  imLoggingEnabled?: boolean;
}

for (const engine of testEngines()) {
  describe(`accounts: SSO provisioning flow [${engine.name}]`, () => {
    let t: TestApp;
    let orgId: string;

    const db = () => t.ctx.database.db;

    function provision(a: Record<string, string>, o: ProvisionOptions = {}) {
      const input: ProvisionAccountInput = {
        // The e-mail domain rule reads the org's domains from here.
        org: { id: orgId, domains: ['acme.com', 'acme.org'], imLoggingEnabled: o.imLoggingEnabled ?? false },
        config: { ...CONFIG, ...o.config },
        nameId: o.nameId ?? a.email ?? 'jdoe@acme.com',
        rawAttributes: Object.entries(a).map(([name, value]) => ({ name, values: [value] })),
      };
      return provisionAccount(t.ctx, input);
    }

    const accounts = () => db().selectFrom('accounts').selectAll().where('org_id', '=', orgId).orderBy('uid_norm').execute();
    const audit = () => db().selectFrom('audit_log').selectAll().where('org_id', '=', orgId).orderBy('seq').execute();
    const snapshot = async () => ({ accounts: await accounts(), audit: await audit() });
    const reload = async (id: string): Promise<Account> => (await findAccountById(db(), orgId, id))!;

    async function rejectsWith(p: Promise<unknown>, code: SsoErrorCode, detail?: string): Promise<void> {
      await assert.rejects(p, (e: unknown) => {
        assert.ok(e instanceof SsoError, `expected SsoError, got ${String(e)}`);
        assert.equal(e.code, code, e.reason);
        if (detail !== undefined) assert.equal(e.detail, detail);
        return true;
      });
    }

    async function seed(over: Partial<NewAccount> = {}): Promise<Account> {
      return insertAccount(db(), {
        id: crypto.randomUUID(),
        orgId,
        uid: 'jdoe',
        email: 'jdoe@acme.com',
        firstname: 'John',
        lastname: 'Doe',
        status: 'active',
        role: 'member',
        ssoId: null,
        attributes: {},
        updateTimeStamp: T,
        createdAt: T,
        ...over,
      });
    }

    before(async () => {
      t = await startTestApp({ engine });
    });
    after(() => t.close());

    // A fresh org per test keeps the cases independent on one database.
    beforeEach(async () => {
      const slug = `org-${crypto.randomBytes(4).toString('hex')}.test`;
      orgId = (await insertTestOrg(db(), { id: crypto.randomUUID(), slug, createdAt: t.clock.now() })).id;
    });

    it('creates a plain active member with one audit entry that names fields, not values', async () => {
      const r = await provision({
        ...REQUIRED,
        updateTimeStamp: '2013-10-30T13:07:07Z',
        mobile: PHONE,
        street: STREET,
        groupid: 'G1',
        ISOCountry: 'fr',
        ssoid: 'S-1',
      });
      assert.equal(r.action, 'create');
      const a = await reload(r.account.id);
      assert.deepEqual(a, r.account);
      assert.deepEqual(
        { uid: a.uid, email: a.email, firstname: a.firstname, lastname: a.lastname, role: a.role, status: a.status, ssoId: a.ssoId, updateTimeStamp: a.updateTimeStamp },
        { ...REQUIRED, role: 'member', status: 'active', ssoId: 'S-1', updateTimeStamp: T },
      );
      assert.deepEqual(a.attributes, { mobilePhone: PHONE, streetLine1: STREET, groupid: 'G1', ISOCountry: 'FR' });
      const entries = await audit();
      assert.equal(entries.length, 1);
      assert.deepEqual(
        { actor: entries[0]!.actor, action: entries[0]!.action, target: entries[0]!.target },
        { actor: 'sso', action: 'account.create', target: `account:${a.id}` },
      );
      const details = JSON.parse(entries[0]!.details);
      assert.ok(details.fields.includes('mobilePhone') && details.fields.includes('streetLine1'));
      for (const secret of [PHONE, STREET]) {
        assert.ok(!entries[0]!.details.includes(secret), 'audit carries no attribute values');
        assert.ok(!t.logs.text().includes(secret), 'log carries no attribute values');
      }
    });

    it('never creates an administrator, whatever the assertion says', async () => {
      const r = await provision({ ...REQUIRED, role: 'orgAdmin', isAdmin: 'true' });
      assert.equal(r.action, 'create');
      assert.equal((await reload(r.account.id)).role, 'member');
    });

    it('updates only with a newer updateTimeStamp, in each accepted format', async () => {
      const created = await provision({ ...REQUIRED, updateTimeStamp: '2013-10-30T13:07:07Z' });
      const steps: Array<{ stamp: string; expected: 'update' | 'signin'; ms?: number; why: string }> = [
        { stamp: String(T + 1000), expected: 'update', ms: T + 1000, why: 'epoch milliseconds' },
        { stamp: String((T + 60_000) / 1000), expected: 'update', ms: T + 60_000, why: 'ten digits are seconds' },
        { stamp: '2013-10-30T13:09:07Z', expected: 'update', ms: T + 120_000, why: 'UTC ISO-8601' },
        { stamp: '20131030131007.0Z', expected: 'update', ms: T + 180_000, why: 'LDIF generalized time (AD whenChanged)' },
        { stamp: '20131030131007.0Z', expected: 'signin', why: 'equal is not newer' },
        { stamp: String(T), expected: 'signin', why: 'older' },
        { stamp: 'last tuesday', expected: 'signin', why: 'garbage' },
        { stamp: '20131030131007', expected: 'signin', why: 'generalized time without a zone is ambiguous' },
      ];
      let n = 0;
      for (const step of steps) {
        n++;
        const before = await snapshot();
        const r = await provision({ ...REQUIRED, firstname: `John${n}`, updateTimeStamp: step.stamp });
        assert.equal(r.action, step.expected, step.why);
        assert.equal(r.account.id, created.account.id);
        const a = await reload(created.account.id);
        if (step.expected === 'update') {
          assert.equal(a.firstname, `John${n}`, step.why);
          assert.equal(a.updateTimeStamp, step.ms, step.why);
          const after = await audit();
          assert.equal(after.length, before.audit.length + 1, `${step.why}: one audit entry`);
          assert.deepEqual(JSON.parse(after.at(-1)!.details).changed, ['firstname', 'updateTimeStamp']);
        } else {
          assert.deepEqual(await snapshot(), before, `${step.why}: nothing written`);
        }
      }
      assert.ok(t.logs.lines.some((l) => l.includes('UPDATE_TIMESTAMP_UNPARSABLE') && l.includes('last tuesday')), 'unparsable timestamp is logged');
    });

    it('does not update without updateTimeStamp, or with auto account update off', async () => {
      const created = await provision({ ...REQUIRED, updateTimeStamp: String(T) });
      const before = await snapshot();
      assert.equal((await provision({ ...REQUIRED, firstname: 'Other' })).action, 'signin');
      assert.equal((await provision({ ...REQUIRED, firstname: 'Other', updateTimeStamp: String(T + 5) }, { config: { autoAccountUpdate: false } })).action, 'signin');
      assert.deepEqual(await snapshot(), before);
      assert.equal((await reload(created.account.id)).firstname, 'John');
    });

    it('stores a creation without updateTimeStamp as null, so any later stamp updates', async () => {
      const created = await provision(REQUIRED);
      assert.equal(created.account.updateTimeStamp, null);
      const r = await provision({ ...REQUIRED, city: 'Paris', updateTimeStamp: '1' });
      assert.equal(r.action, 'update');
      assert.equal((await reload(created.account.id)).attributes.city, 'Paris');
    });

    it('applies groupid on create only', async () => {
      const created = await provision({ ...REQUIRED, groupid: 'G1', updateTimeStamp: String(T) });
      const r = await provision({ ...REQUIRED, groupid: 'G2', jobTitle: 'CTO', updateTimeStamp: String(T + 1) });
      assert.equal(r.action, 'update');
      const a = await reload(created.account.id);
      assert.deepEqual(a.attributes, { groupid: 'G1', jobTitle: 'CTO' });
    });

    for (const role of ['orgAdmin', 'userAdmin'] as const) {
      it(`signs a ${role} in without altering it, even with a newer updateTimeStamp`, async () => {
        const admin = await seed({ role, attributes: { city: 'Paris' } });
        const before = await snapshot();
        const r = await provision(
          { ...REQUIRED, firstname: 'Johnny', email: 'johnny@acme.org', city: 'Lyon', ssoid: 'S-admin', role: 'member', updateTimeStamp: String(T + 1) },
          { nameId: 'jdoe' },
        );
        assert.deepEqual([r.action, r.account.id], ['signin', admin.id]);
        assert.deepEqual(await snapshot(), before, 'no account change, no audit entry');
        const a = await reload(admin.id);
        assert.deepEqual(
          { firstname: a.firstname, email: a.email, ssoId: a.ssoId, role: a.role, status: a.status, attributes: a.attributes, updateTimeStamp: a.updateTimeStamp },
          { firstname: 'John', email: 'jdoe@acme.com', ssoId: null, role, status: 'active', attributes: { city: 'Paris' }, updateTimeStamp: T },
        );
      });
    }

    it('refuses a foreign e-mail domain on create and on update, writing nothing', async () => {
      const before = await snapshot();
      await rejectsWith(provision({ ...REQUIRED, email: 'jdoe@evil.com' }), 'SSO_DOMAIN', 'evil.com');
      await rejectsWith(provision({ ...REQUIRED, email: 'jdoe@sub.acme.com' }), 'SSO_DOMAIN');
      assert.deepEqual(await snapshot(), before);
      const created = await provision({ ...REQUIRED, email: 'jdoe@ACME.org', updateTimeStamp: String(T) });
      assert.equal(created.action, 'create', 'domains match case-insensitively');
      const mid = await snapshot();
      await rejectsWith(provision({ ...REQUIRED, email: 'jdoe@evil.com', updateTimeStamp: String(T + 1) }, { nameId: 'jdoe' }), 'SSO_DOMAIN');
      assert.deepEqual(await snapshot(), mid);
    });

    it('refuses missing or empty required attributes, naming them, writing nothing', async () => {
      const before = await snapshot();
      await rejectsWith(provision({ uid: 'jdoe', email: 'jdoe@acme.com' }), 'SSO_MISSING_ATTRIBUTE', 'firstname, lastname');
      await rejectsWith(provision({ ...REQUIRED, uid: '  ' }), 'SSO_MISSING_ATTRIBUTE', 'uid');
      await rejectsWith(provision({ firstname: 'J', lastname: 'D', uid: 'x' }, { nameId: 'x' }), 'SSO_MISSING_ATTRIBUTE', 'email');
      assert.deepEqual(await snapshot(), before);
    });

    it('refuses an unknown user when auto account creation is off', async () => {
      const before = await snapshot();
      await rejectsWith(provision(REQUIRED, { config: { autoAccountCreation: false } }), 'SSO_NO_ACCOUNT');
      assert.deepEqual(await snapshot(), before);
      await seed();
      assert.equal((await provision(REQUIRED, { config: { autoAccountCreation: false } })).action, 'signin');
    });

    it('refuses a deactivated account, even with a newer profile', async () => {
      const a = await seed();
      await setAccountStatus(db(), orgId, a.id, 'inactive', T);
      const before = await snapshot();
      await rejectsWith(provision({ ...REQUIRED, updateTimeStamp: String(T + 1) }), 'SSO_ACCOUNT_INACTIVE');
      await rejectsWith(provision(REQUIRED, { nameId: 'jdoe' }), 'SSO_ACCOUNT_INACTIVE');
      assert.deepEqual(await snapshot(), before);
    });

    it('looks up by NameID as uid or as e-mail', async () => {
      const a = await seed({ uid: 'JDoe', email: 'john.doe@acme.com' });
      assert.equal((await provision(REQUIRED, { nameId: 'jdoe' })).account.id, a.id);
      assert.equal((await provision(REQUIRED, { nameId: 'John.Doe@ACME.com' })).account.id, a.id);
    });

    it('looks up by ssoid first, falls back to NameID for a new ssoid, and links it on update', async () => {
      const a = await seed({ uid: 'jdoe', email: 'jdoe@acme.com' });
      const linked = await provision({ ...REQUIRED, ssoid: 'S-1', updateTimeStamp: String(T + 1) }, { nameId: 'jdoe' });
      assert.equal(linked.action, 'update');
      assert.equal((await reload(a.id)).ssoId, 'S-1');
      // Found by ssoid now, whatever the NameID.
      const r = await provision({ ...REQUIRED, ssoid: 'S-1' }, { nameId: 'transient-1234' });
      assert.deepEqual([r.action, r.account.id], ['signin', a.id]);
      // A different ssoid with the same NameID must not take the account over.
      const before = await snapshot();
      await rejectsWith(provision({ ...REQUIRED, ssoid: 'S-2', updateTimeStamp: String(T + 9) }, { nameId: 'jdoe' }), 'SSO_NO_ACCOUNT');
      assert.deepEqual(await snapshot(), before);
    });

    describe('remove uid domain suffix (R-ACC-5)', () => {
      const on = { config: { removeUidDomainSuffix: true } };

      it('refuses without ssoid, for new and existing users', async () => {
        await rejectsWith(provision({ ...REQUIRED, uid: 'jdoe@acme.com' }, on), 'SSO_UID_DOMAIN');
        await seed();
        await rejectsWith(provision({ ...REQUIRED, uid: 'jdoe@acme.com' }, on), 'SSO_UID_DOMAIN');
      });

      for (const [raw, stripped] of [
        ['jdoe@corp.example.com', 'jdoe'],
        ['CORP\\jdoe', 'jdoe'],
        ['CORP\\jdoe@corp.example.com', 'jdoe'],
        ['jdoe', 'jdoe'],
      ] as const) {
        it(`creates "${raw}" as "${stripped}" and finds it again by ssoid`, async () => {
          const r = await provision({ ...REQUIRED, uid: raw, ssoid: 'S-9' }, { ...on, nameId: raw });
          assert.equal(r.action, 'create');
          assert.equal(r.account.uid, stripped);
          const again = await provision({ ...REQUIRED, uid: raw, ssoid: 'S-9' }, { ...on, nameId: raw });
          assert.deepEqual([again.action, again.account.id], ['signin', r.account.id]);
        });
      }

      it('a uid that is only a domain counts as missing', async () => {
        await rejectsWith(provision({ ...REQUIRED, uid: '@acme.com', ssoid: 'S-1' }, on), 'SSO_MISSING_ATTRIBUTE', 'uid');
      });
    });

    it('applies the IM logging defaults when the org has IM logging on', async () => {
      const r = await provision(REQUIRED, { imLoggingEnabled: true });
      assert.deepEqual(r.account.attributes, { imloggingenabled: 'false', imloggingendpointname: 'wbx_default_endpoint' });
    });

    it('uses the org attribute map and refuses a broken one with SSO_CONFIG', async () => {
      const r = await provision({ ...REQUIRED, email: 'ignored@acme.com', 'corp-mail': 'mapped@acme.com' }, {
        config: { attributeMap: { 'corp-mail': 'email' } },
        nameId: 'mapped@acme.com',
      });
      assert.equal(r.account.email, 'mapped@acme.com');
      await rejectsWith(provision(REQUIRED, { config: { attributeMap: { x: 'noSuchAttribute' } } }), 'SSO_CONFIG');
    });

    it('refuses to create a user whose uid belongs to another account, writing nothing', async () => {
      await seed({ uid: 'jdoe', email: 'someone.else@acme.com' });
      const before = await snapshot();
      // NameID is the e-mail, which matches nobody; the uid is taken by another person.
      await rejectsWith(provision({ ...REQUIRED, email: 'new.jdoe@acme.com' }, { nameId: 'new.jdoe@acme.com' }), 'SSO_NO_ACCOUNT');
      assert.deepEqual(await snapshot(), before);
    });

    it("does not move an account onto another account's e-mail; it signs in unchanged", async () => {
      const a = await seed({ uid: 'jdoe', email: 'jdoe@acme.com' });
      await seed({ id: 'other', uid: 'other', email: 'other@acme.com' });
      const before = await snapshot();
      const r = await provision({ ...REQUIRED, email: 'other@acme.com', updateTimeStamp: String(T + 1) }, { nameId: 'jdoe' });
      assert.deepEqual([r.action, r.account.id], ['signin', a.id]);
      assert.deepEqual(await snapshot(), before);
      assert.ok(t.logs.lines.some((l) => l.includes('ACCOUNT_UPDATE_CONFLICT')));
    });

    it('concurrent first sign-ins of one new user create one account', async () => {
      const results = await Promise.all(
        Array.from({ length: 8 }, () => provision({ ...REQUIRED, ssoid: 'S-race', updateTimeStamp: String(T) })),
      );
      const rows = await accounts();
      assert.equal(rows.length, 1);
      assert.deepEqual(new Set(results.map((r) => r.account.id)), new Set([rows[0]!.id]));
      assert.equal(results.filter((r) => r.action === 'create').length, 1);
      assert.equal(results.filter((r) => r.action === 'signin').length, 7);
      assert.deepEqual((await audit()).map((e) => e.action), ['account.create']);
    });

    it('concurrent updates keep the newest profile', async () => {
      const a = await seed({ updateTimeStamp: T });
      const stamps = [5, 1, 4, 2, 3];
      const results = await Promise.all(
        stamps.map((k) => provision({ ...REQUIRED, firstname: `v${k}`, updateTimeStamp: String(T + k * 1000) }, { nameId: 'jdoe' })),
      );
      const stored = await reload(a.id);
      assert.equal(stored.updateTimeStamp, T + 5000);
      assert.equal(stored.firstname, 'v5');
      const updates = results.filter((r) => r.action === 'update').length;
      assert.equal((await audit()).length, updates, 'one audit entry per applied update');
    });
  });
}
