import assert from 'node:assert/strict';
import {
  countActiveOrgAdmins,
  findAccountByEmail,
  findAccountById,
  findAccountByNameId,
  findAccountBySsoId,
  findAccountByUid,
  findAccountsByKeys,
  insertAccount,
  listAccountsAfter,
  lockOrgAccounts,
  searchAccounts,
  setAccountStatus,
  updateAccount,
  type NewAccount,
} from '../../../src/store/accounts.js';
import { isUniqueViolation } from '../../../src/store/database.js';
import { testEngines, type TestDatabase } from '../../support/databases.js';
import { insertTestOrg } from '../../support/fixtures.js';

const T0 = 1_700_000_000_000;

function account(over: Partial<NewAccount> & { id: string; uid: string }): NewAccount {
  return {
    orgId: 'org-a',
    email: `${over.uid.toLowerCase()}@acme.com`,
    firstname: 'First',
    lastname: 'Last',
    status: 'active',
    role: 'member',
    ssoId: null,
    attributes: {},
    updateTimeStamp: null,
    createdAt: T0,
    ...over,
  };
}

/** The store contract for accounts: the same assertions on every engine (R-OPS-2). */
for (const engine of testEngines()) {
  describe(`store contract: accounts [${engine.name}]`, () => {
    let t: TestDatabase;
    const db = () => t.handle.db;

    beforeEach(async () => {
      t = await engine.open();
      for (const slug of ['acme.com', 'beta.com']) {
        await insertTestOrg(db(), { id: slug === 'acme.com' ? 'org-a' : 'org-b', slug, createdAt: T0 });
      }
    });
    afterEach(() => t.drop());

    it('round-trips an account with attributes, null ssoid and timestamps', async () => {
      const a = account({ id: 'a1', uid: 'JDoe', attributes: { city: 'Zürich', groupid: 'g1' }, updateTimeStamp: 1_383_138_427_000 });
      const inserted = await insertAccount(db(), a);
      const found = await findAccountById(db(), 'org-a', 'a1');
      assert.deepEqual(found, inserted);
      assert.deepEqual(found, { ...a, updatedAt: T0 });
      assert.equal(typeof found!.updateTimeStamp, 'number');
      assert.equal(typeof found!.createdAt, 'number');
      assert.equal(await findAccountById(db(), 'org-b', 'a1'), undefined, 'ids are scoped to the org');
    });

    it('finds by uid and e-mail case-insensitively (NFC too), by ssoid exactly', async () => {
      await insertAccount(db(), account({ id: 'a1', uid: 'Jos\u00e9', email: 'Jose@Acme.com', ssoId: 'QUJD' }));
      assert.equal((await findAccountByUid(db(), 'org-a', 'JOSE\u0301'))?.id, 'a1');
      assert.equal((await findAccountByUid(db(), 'org-a', ' jos\u00e9 '))?.id, 'a1');
      assert.equal((await findAccountByEmail(db(), 'org-a', 'jose@ACME.COM'))?.id, 'a1');
      assert.equal((await findAccountBySsoId(db(), 'org-a', 'QUJD'))?.id, 'a1');
      assert.equal(await findAccountBySsoId(db(), 'org-a', 'qujd'), undefined, 'ssoid case matters');
      assert.equal(await findAccountByUid(db(), 'org-b', 'jos\u00e9'), undefined);
    });

    it('looks a NameID up as uid first, then as e-mail', async () => {
      await insertAccount(db(), account({ id: 'by-email', uid: 'someone', email: 'x@acme.com' }));
      await insertAccount(db(), account({ id: 'by-uid', uid: 'x@acme.com', email: 'other@acme.com' }));
      assert.equal((await findAccountByNameId(db(), 'org-a', 'X@acme.com'))?.id, 'by-uid');
      assert.equal((await findAccountByNameId(db(), 'org-a', 'other@ACME.com'))?.id, 'by-uid');
      assert.equal((await findAccountByNameId(db(), 'org-a', 'someone'))?.id, 'by-email');
      assert.equal(await findAccountByNameId(db(), 'org-a', 'nobody'), undefined);
    });

    it('enforces one uid, one e-mail and one ssoid per org in the database, across case', async () => {
      await insertAccount(db(), account({ id: 'a1', uid: 'jdoe', email: 'jdoe@acme.com', ssoId: 'S-1' }));
      for (const dup of [
        account({ id: 'a2', uid: 'JDOE', email: 'x@acme.com' }),
        account({ id: 'a3', uid: 'other', email: 'JDoe@ACME.com' }),
        account({ id: 'a4', uid: 'other2', email: 'y@acme.com', ssoId: 'S-1' }),
        account({ id: 'a1', uid: 'z', email: 'z@acme.com' }),
      ]) {
        await assert.rejects(insertAccount(db(), dup), (e) => isUniqueViolation(e), dup.id);
      }
      // Several accounts without ssoid, and the same keys in another org, are fine.
      await insertAccount(db(), account({ id: 'b1', uid: 'b1' }));
      await insertAccount(db(), account({ id: 'b2', uid: 'b2' }));
      await insertAccount(db(), account({ id: 'o1', orgId: 'org-b', uid: 'jdoe', email: 'jdoe@acme.com', ssoId: 'S-1' }));
      // An update into a taken key is refused too.
      await assert.rejects(updateAccount(db(), 'org-a', 'b1', { uid: 'JDOE' }, T0 + 1), (e) => isUniqueViolation(e));
      await assert.rejects(updateAccount(db(), 'org-a', 'b1', { ssoId: 'S-1' }, T0 + 1), (e) => isUniqueViolation(e));
    });

    it('searches by uid, e-mail, status and q (names too), with paging and a total', async () => {
      const names: Array<[string, string, string]> = [
        ['alice', 'Alice', 'Martin'],
        ['bob', 'Bob', 'Stone'],
        ['carol', 'Carol', 'Martinez'],
        ['dave', 'Dave', 'Smith'],
        ['eve_1', 'Eve', 'Percent%'],
      ];
      for (const [uid, firstname, lastname] of names) {
        await insertAccount(db(), account({ id: `id-${uid}`, uid, firstname, lastname }));
      }
      await insertAccount(db(), account({ id: 'other-org', orgId: 'org-b', uid: 'alice2', firstname: 'Alice', lastname: 'Martin' }));
      await setAccountStatus(db(), 'org-a', 'id-bob', 'inactive', T0 + 1);
      const uids = async (s: Partial<Parameters<typeof searchAccounts>[2]>) => {
        const r = await searchAccounts(db(), 'org-a', { page: 1, pageSize: 50, ...s });
        return { uids: r.items.map((a) => a.uid), total: r.total };
      };
      assert.deepEqual(await uids({}), { uids: ['alice', 'bob', 'carol', 'dave', 'eve_1'], total: 5 });
      assert.deepEqual(await uids({ q: 'MARTIN' }), { uids: ['alice', 'carol'], total: 2 });
      assert.deepEqual(await uids({ q: 'alice martin' }), { uids: ['alice'], total: 1 });
      assert.deepEqual(await uids({ q: 'DAVE@acme' }), { uids: ['dave'], total: 1 });
      assert.deepEqual(await uids({ q: '%' }), { uids: ['eve_1'], total: 1 }, 'LIKE wildcards are literal');
      assert.deepEqual(await uids({ q: 'e_1' }), { uids: ['eve_1'], total: 1 });
      assert.deepEqual(await uids({ q: 'a_i' }), { uids: [], total: 0 });
      assert.deepEqual(await uids({ uid: 'CAROL' }), { uids: ['carol'], total: 1 });
      assert.deepEqual(await uids({ uid: 'caro' }), { uids: [], total: 0 }, 'uid is an exact match');
      assert.deepEqual(await uids({ email: 'Dave@ACME.com' }), { uids: ['dave'], total: 1 });
      assert.deepEqual(await uids({ status: 'inactive' }), { uids: ['bob'], total: 1 });
      assert.deepEqual(await uids({ status: 'active', q: 'st' }), { uids: [], total: 0 });
      assert.deepEqual(await uids({ status: 'inactive', q: 'st' }), { uids: ['bob'], total: 1 });
      assert.deepEqual(await uids({ page: 2, pageSize: 2 }), { uids: ['carol', 'dave'], total: 5 });
      assert.deepEqual(await uids({ page: 3, pageSize: 2 }), { uids: ['eve_1'], total: 5 });
      assert.deepEqual(await uids({ page: 4, pageSize: 2 }), { uids: [], total: 5 });
    });

    it('lists in uid order with keyset paging', async () => {
      for (const uid of ['d', 'B', 'a', 'C']) await insertAccount(db(), account({ id: uid, uid }));
      const first = await listAccountsAfter(db(), 'org-a', null, 3);
      assert.deepEqual(first.map((a) => a.uid), ['a', 'B', 'C']);
      assert.deepEqual((await listAccountsAfter(db(), 'org-a', 'C', 3)).map((a) => a.uid), ['d']);
    });

    it('finds accounts by any of several keys', async () => {
      await insertAccount(db(), account({ id: 'a1', uid: 'one', ssoId: 'S1' }));
      await insertAccount(db(), account({ id: 'a2', uid: 'two' }));
      await insertAccount(db(), account({ id: 'a3', uid: 'three' }));
      const found = await findAccountsByKeys(db(), 'org-a', { ids: ['a3'], uids: ['ONE'], emails: ['TWO@acme.com'], ssoIds: ['S1', 'nope'] });
      assert.deepEqual(found.map((a) => a.id).sort(), ['a1', 'a2', 'a3']);
      assert.deepEqual(await findAccountsByKeys(db(), 'org-b', { uids: ['one'] }), []);
    });

    it('updates fields and keeps the name search in step', async () => {
      await insertAccount(db(), account({ id: 'a1', uid: 'jdoe' }));
      assert.equal(
        await updateAccount(db(), 'org-a', 'a1', { firstname: 'Jane', lastname: 'Roe', attributes: { city: 'Oslo' }, ssoId: 'S', updateTimeStamp: 5 }, T0 + 10),
        true,
      );
      const a = (await findAccountById(db(), 'org-a', 'a1'))!;
      assert.deepEqual(
        { firstname: a.firstname, lastname: a.lastname, attributes: a.attributes, ssoId: a.ssoId, updateTimeStamp: a.updateTimeStamp, updatedAt: a.updatedAt },
        { firstname: 'Jane', lastname: 'Roe', attributes: { city: 'Oslo' }, ssoId: 'S', updateTimeStamp: 5, updatedAt: T0 + 10 },
      );
      assert.equal((await searchAccounts(db(), 'org-a', { q: 'jane roe', page: 1, pageSize: 5 })).total, 1);
      assert.equal(await updateAccount(db(), 'org-b', 'a1', { uid: 'x' }, T0), false, 'another org cannot update it');
      await assert.rejects(updateAccount(db(), 'org-a', 'a1', { firstname: 'Only' }, T0), /together/);
    });

    it('applies an SSO update only when the stored timestamp is older, and only while active', async () => {
      await insertAccount(db(), account({ id: 'a1', uid: 'jdoe', updateTimeStamp: 1000 }));
      const g = (before: number) => ({ ifActive: true, ifUpdateTimeStampBefore: before });
      assert.equal(await updateAccount(db(), 'org-a', 'a1', { updateTimeStamp: 1000 }, T0, g(1000)), false, 'equal is not newer');
      assert.equal(await updateAccount(db(), 'org-a', 'a1', { updateTimeStamp: 999 }, T0, g(999)), false);
      assert.equal(await updateAccount(db(), 'org-a', 'a1', { updateTimeStamp: 1001 }, T0, g(1001)), true);
      await setAccountStatus(db(), 'org-a', 'a1', 'inactive', T0);
      assert.equal(await updateAccount(db(), 'org-a', 'a1', { updateTimeStamp: 2000 }, T0, g(2000)), false);
      assert.equal((await findAccountById(db(), 'org-a', 'a1'))!.updateTimeStamp, 1001);
      await insertAccount(db(), account({ id: 'a2', uid: 'never' }));
      assert.equal(await updateAccount(db(), 'org-a', 'a2', { updateTimeStamp: 1 }, T0, g(1)), true, 'null counts as older');
    });

    it('changes status only when it differs', async () => {
      await insertAccount(db(), account({ id: 'a1', uid: 'jdoe' }));
      assert.equal(await setAccountStatus(db(), 'org-a', 'a1', 'active', T0 + 1), false);
      assert.equal(await setAccountStatus(db(), 'org-a', 'a1', 'inactive', T0 + 2), true);
      assert.equal(await setAccountStatus(db(), 'org-a', 'a1', 'inactive', T0 + 3), false);
      assert.equal(await setAccountStatus(db(), 'org-b', 'a1', 'active', T0 + 3), false);
      const a = (await findAccountById(db(), 'org-a', 'a1'))!;
      assert.equal(a.status, 'inactive');
      assert.equal(a.updatedAt, T0 + 2);
    });

    it('keeps one active orgAdmin per org when asked to', async () => {
      await insertAccount(db(), account({ id: 'adm1', uid: 'adm1', role: 'orgAdmin' }));
      await insertAccount(db(), account({ id: 'adm2', uid: 'adm2', role: 'orgAdmin' }));
      await insertAccount(db(), account({ id: 'adm-b', orgId: 'org-b', uid: 'adm-b', role: 'orgAdmin' }));
      const keep = { keepActiveOrgAdmin: true };
      assert.equal(await countActiveOrgAdmins(db(), 'org-a'), 2);
      assert.equal(await setAccountStatus(db(), 'org-a', 'adm1', 'inactive', T0, keep), true);
      assert.equal(await setAccountStatus(db(), 'org-a', 'adm2', 'inactive', T0, keep), false, 'the last one stays');
      assert.equal(await updateAccount(db(), 'org-a', 'adm2', { role: 'member' }, T0, keep), false, 'nor can it be demoted');
      assert.equal(await countActiveOrgAdmins(db(), 'org-a'), 1);
      assert.equal(await setAccountStatus(db(), 'org-a', 'adm1', 'active', T0, keep), true, 'reactivation is always fine');
      assert.equal(await updateAccount(db(), 'org-a', 'adm2', { role: 'member' }, T0, keep), true);
      // Without the guard the store does what it is told; the service decides.
      assert.equal(await setAccountStatus(db(), 'org-a', 'adm1', 'inactive', T0), true);
      assert.equal(await countActiveOrgAdmins(db(), 'org-a'), 0);
      assert.equal(await countActiveOrgAdmins(db(), 'org-b'), 1);
    });

    it('takes the org lock inside a transaction on every engine', async () => {
      await db().transaction().execute(async (trx) => {
        await lockOrgAccounts(trx, t.handle.dialect, 'org-a');
      });
    });

    it('drops an org’s accounts with the org', async () => {
      await insertAccount(db(), account({ id: 'a1', uid: 'jdoe' }));
      await db().deleteFrom('orgs').where('id', '=', 'org-a').execute();
      assert.equal(await findAccountById(db(), 'org-a', 'a1'), undefined);
    });
  });
}
