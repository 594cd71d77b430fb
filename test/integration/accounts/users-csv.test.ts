import assert from 'node:assert/strict';
import { parse } from 'csv-parse/sync';
import request from 'supertest';
import { USER_CSV_COLUMNS } from '../../../src/accounts/users-csv.js';
import { testEngines } from '../../support/databases.js';
import { accountsAndAudit, auth, createApiKey } from '../../support/fixtures.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';

const BASE = '/api/v1/orgs/acme.com/users';

/** Rows that must stay untouched when a request is refused. */
const snapshot = accountsAndAudit;

for (const engine of testEngines()) {
  describe(`users CSV import/export (R-ACC-7) [${engine.name}]`, () => {
    let t: TestApp;
    let orgKey: string;
    let userAdminKey: string;
    const importCsv = (csv: string | Buffer, key = orgKey, type = 'text/csv') =>
      request(t.app).post(`${BASE}/import`).set(auth(key)).set('Content-Type', type).send(csv);
    const exportCsv = async (key = orgKey) => {
      const r = await request(t.app).get(`${BASE}/export`).set(auth(key)).buffer(true).parse((res, cb) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (data += c));
        res.on('end', () => cb(null, data));
      });
      assert.equal(r.status, 200);
      assert.match(r.headers['content-type']!, /^text\/csv/);
      assert.match(r.headers['content-disposition']!, /^attachment; filename="?users-acme\.com\.csv"?$/);
      return r.body as string;
    };
    const account = async (uid: string) => (await request(t.app).get(`${BASE}?uid=${encodeURIComponent(uid)}`).set(auth(orgKey)).expect(200)).body.items[0];
    const total = async () => (await request(t.app).get(BASE).set(auth(orgKey)).expect(200)).body.total as number;

    before(async () => {
      t = await startTestApp({ engine });
      await request(t.app).post('/api/v1/orgs').set(auth(t.superKey)).send({ slug: 'acme.com', name: 'Acme', domains: ['acme.org'] }).expect(201);
      orgKey = await createApiKey(t, 'acme.com', 'orgAdmin');
      userAdminKey = await createApiKey(t, 'acme.com', 'userAdmin');
    });
    after(() => t.close());

    it('imports a good file in one transaction with one audit entry summarising it', async () => {
      const csv = [
        'uid,email,firstName,lastName,jobTitle,ISOCountry,Department',
        'alice,alice@acme.com,Alice,Archer,Dev,fr,R&D',
        'bob,bob@acme.org,Bob,"Baker, Jr.",,,Sales',
        'carol,carol@acme.com,Carol,Cook,"Head of ""Ops""",DE,',
      ].join('\r\n');
      const before = (await snapshot(t)).audit.length;
      const r = await importCsv(csv).expect(200);
      assert.deepEqual(r.body, { created: 3, updated: 0, unchanged: 0, deactivated: 0, reactivated: 0, ignoredColumns: ['Department'] });
      const audit = (await snapshot(t)).audit;
      assert.equal(audit.length, before + 1);
      assert.equal(audit.at(-1)!.action, 'account.import');
      assert.deepEqual(JSON.parse(audit.at(-1)!.details), { created: 3, updated: 0, unchanged: 0, deactivated: 0, reactivated: 0, lines: 3 });
      const bob = await account('bob');
      assert.deepEqual([bob.lastname, bob.role, bob.status, bob.attributes], ['Baker, Jr.', 'member', 'active', {}]);
      assert.deepEqual((await account('carol')).attributes, { jobTitle: 'Head of "Ops"', ISOCountry: 'DE' });
    });

    it('changes nothing when one line is bad, and reports that line', async () => {
      const csv = [
        'uid,email,firstname,lastname',
        'dave,dave@acme.com,Dave,Dunn',
        'erin,erin@evil.com,Erin,Evans',
        'frank,frank@acme.com,Frank,Fox',
      ].join('\n');
      const before = await snapshot(t);
      const r = await importCsv(csv);
      assert.equal(r.status, 422);
      assert.equal(r.type, 'application/problem+json');
      assert.deepEqual(r.body.errors.map((e: { line: number; field: string }) => [e.line, e.field]), [[3, 'email']]);
      assert.match(r.body.errors[0].message, /domains/);
      assert.match(r.body.detail, /line 3.*nothing was imported/);
      assert.deepEqual(await snapshot(t), before);
    });

    it('reports every bad line with its line number and column', async () => {
      const csv = [
        'uid,email,firstname,lastname,ISOCountry,updateTimeStamp,role,status',
        'g1,g1@acme.com,G,One,ZZ,,,',
        'g2,not-an-email,G,Two,,,,',
        '"g3',
        'multi",g3@acme.com,"G',
        'Three",,,,,', // a quoted field over three lines starts on line 4
        'g4,g4@acme.com,,Four,,,,',
        'g5,g5@acme.com,G,Five,,soon,,',
        'g6,g6@acme.com,G,Six,,,orgAdmin,',
        'g7,g7@acme.com,G,Seven,,,,maybe',
        'g8,g8@acme.com,G,Eight',
        'g10,g10@acme.com,G,Ten,,,,',
        'G10,g10b@acme.com,G,Ten,,,,',
      ].join('\n');
      const before = await snapshot(t);
      const r = await importCsv(csv);
      assert.equal(r.status, 422, JSON.stringify(r.body));
      const got = r.body.errors.map((e: { line: number; field: string }) => `${e.line}:${e.field}`);
      assert.deepEqual(got, [
        '2:ISOCountry',
        '3:email',
        '4:uid', // a line break inside a uid or a name is refused, and reported where the record starts
        '4:firstname',
        '4:lastname',
        '7:firstname',
        '8:updateTimeStamp',
        '9:role',
        '10:status',
        '11:csv',
        '12:uid',
        '13:uid',
      ], JSON.stringify(r.body.errors));
      assert.match(r.body.errors.find((e: { line: number }) => e.line === 7).message, /required to create an account/);
      assert.deepEqual(await snapshot(t), before);
    });

    it('refuses duplicates inside the file and against existing accounts', async () => {
      const csv = ['uid,email,firstname,lastname', 'h1,h@acme.com,H,One', 'h2,H@ACME.com,H,Two', 'alice,h3@acme.com,H,Three'].join('\n');
      const before = await snapshot(t);
      const r = await importCsv(csv).expect(422);
      assert.deepEqual(r.body.errors.map((e: { line: number; field: string }) => `${e.line}:${e.field}`), ['2:email', '3:email', '4:uid']);
      assert.match(r.body.errors[2].message, /existing account/);
      assert.deepEqual(await snapshot(t), before);
    });

    it('refuses unreadable files and wrong content types, changing nothing', async () => {
      const before = await snapshot(t);
      for (const [csv, line] of [
        ['', 1],
        ['uid,email\n"broken,x@acme.com\n', 2],
        ['uid,firstname\nx,y\n', 1],
        ['email,Email\nx@acme.com,x@acme.com\n', 1],
      ] as const) {
        const r = await importCsv(csv);
        assert.equal(r.status, 422, JSON.stringify(csv));
        assert.equal(r.body.errors[0].line, line, JSON.stringify(r.body.errors));
      }
      const json = await request(t.app).post(`${BASE}/import`).set(auth(orgKey)).send({ uid: 'x' });
      assert.equal(json.status, 415);
      assert.deepEqual(await snapshot(t), before);
    });

    it('updates by e-mail or id: present columns replace, absent ones stay, empty cells clear', async () => {
      const alice = await account('alice');
      const csv = ['email,firstname,lastname,jobTitle,city', 'ALICE@acme.com,Alicia,Archer,,Paris'].join('\n');
      const r = await importCsv(csv).expect(200);
      assert.deepEqual([r.body.created, r.body.updated], [0, 1]);
      const after = await account('alice');
      assert.equal(after.id, alice.id);
      assert.equal(after.firstname, 'Alicia');
      assert.deepEqual(after.attributes, { ISOCountry: 'FR', city: 'Paris' }, 'jobTitle cleared, ISOCountry untouched');
      const byId = [`id,email,uid`, `${alice.id},alice.archer@acme.com,alice`].join('\n');
      await importCsv(byId).expect(200);
      assert.equal((await account('alice')).email, 'alice.archer@acme.com');
      const unknownId = await importCsv(['id,email', 'nope,x@acme.com'].join('\n')).expect(422);
      assert.equal(unknownId.body.errors[0].field, 'id');
    });

    it('never creates administrators nor changes roles by import', async () => {
      await request(t.app).post(BASE).set(auth(orgKey)).send({ uid: 'boss', email: 'boss@acme.com', firstname: 'B', lastname: 'Oss', role: 'orgAdmin' }).expect(201);
      const before = await snapshot(t);
      const r = await importCsv(['uid,email,firstname,lastname,role', 'boss,boss@acme.com,B,Oss,member', 'ivan,ivan@acme.com,I,Van,userAdmin'].join('\n')).expect(422);
      assert.deepEqual(r.body.errors.map((e: { line: number; field: string }) => `${e.line}:${e.field}`), ['2:role', '3:role']);
      // A user administrator may not modify an administrator through a file either.
      const ua = await importCsv(['email,firstname', 'boss@acme.com,Hijacked'].join('\n'), userAdminKey).expect(422);
      assert.match(ua.body.errors[0].message, /member accounts/);
      assert.deepEqual(await snapshot(t), before);
      // …but the same file without changes to the admin is fine for it (an export round trip).
      await importCsv(['email,firstname', 'boss@acme.com,B'].join('\n'), userAdminKey).expect(200);
    });

    it('deactivates through the status column with the same rules, and guards the primary administrator', async () => {
      const before = await snapshot(t);
      const r = await importCsv(['email,status', 'boss@acme.com,inactive'].join('\n')).expect(422);
      assert.equal(r.body.errors[0].field, 'status');
      assert.match(r.body.errors[0].message, /primary administrator/);
      assert.deepEqual(await snapshot(t), before);
      const ok = await importCsv(['email,status', 'bob@acme.org,inactive', 'carol@acme.com,active'].join('\n')).expect(200);
      assert.deepEqual([ok.body.updated, ok.body.unchanged, ok.body.deactivated], [1, 1, 1]);
      assert.equal((await account('bob')).status, 'inactive');
      await importCsv(['email,status', 'bob@acme.org,active'].join('\n')).expect(200);
      assert.equal((await account('bob')).status, 'active');
    });

    it('accepts tab-separated files, a UTF-8 BOM and guide column names', async () => {
      const tsv = '\uFEFFuserName\temail\tfirstName\tlastName\taddress1\tfax\n' + 'judy\tjudy@acme.com\tJudy\tJones\t1 Main St\t+1 555\n';
      const r = await importCsv(Buffer.from(tsv, 'utf8'), orgKey, 'text/tab-separated-values').expect(200);
      assert.equal(r.body.created, 1);
      const judy = await account('judy');
      assert.equal(judy.firstname, 'Judy');
      assert.deepEqual(judy.attributes, { streetLine1: '1 Main St', businessFax: '+1 555' });
    });

    it('exports every account in the import columns, and an export imports back unchanged', async () => {
      // Values a spreadsheet would run as formulas, and ones that need quoting.
      await request(t.app)
        .patch(`${BASE}/${(await account('carol')).id}`)
        .set(auth(orgKey))
        .send({ attributes: { displayName: '=HYPERLINK("http://evil")', mobilePhone: '+1 555 0100', companyName: "'=quoted", city: 'Zürich, "CH"' }, updateTimeStamp: '2013-10-30T13:07:07Z' })
        .expect(200);
      const csv = await exportCsv();
      const rows = parse(csv, { bom: true }) as string[][];
      assert.deepEqual(rows[0], USER_CSV_COLUMNS);
      assert.equal(rows.length - 1, await total());
      const header = rows[0]!;
      const carol = rows.find((row) => row[header.indexOf('uid')] === 'carol')!;
      const cell = (name: string) => carol[header.indexOf(name)];
      assert.equal(cell('displayName'), `'=HYPERLINK("http://evil")`, 'formula neutralised');
      assert.equal(cell('mobilePhone'), `'+1 555 0100`);
      assert.equal(cell('companyName'), `''=quoted`);
      assert.equal(cell('updateTimeStamp'), '2013-10-30T13:07:07.000Z');
      assert.ok(header.every((h) => h !== 'password'));

      const before = await snapshot(t);
      const r = await importCsv(csv).expect(200);
      assert.deepEqual(
        { created: r.body.created, updated: r.body.updated, ignored: r.body.ignoredColumns },
        { created: 0, updated: 0, ignored: [] },
      );
      assert.equal(r.body.unchanged, rows.length - 1);
      assert.deepEqual(await snapshot(t), before, 'round trip: nothing changed, no audit entry');
      const c = await account('carol');
      assert.equal(c.attributes.displayName, '=HYPERLINK("http://evil")');
      assert.equal(c.attributes.companyName, "'=quoted");
      assert.equal(c.attributes.city, 'Zürich, "CH"');
      assert.equal(await exportCsv(), csv, 'a second export is identical');
      // A user administrator can export and re-import the whole org (admins included, unchanged).
      await importCsv(await exportCsv(userAdminKey), userAdminKey).expect(200);
    });

    it('an export imported into an empty org recreates the members', async () => {
      await request(t.app).post('/api/v1/orgs').set(auth(t.superKey)).send({ slug: 'copy.com', name: 'Copy', domains: [] }).expect(201);
      const csv = await exportCsv();
      const rows = parse(csv) as string[][];
      const header = rows[0]!;
      // Another org: no ids, its own domain, members only.
      const moved = [
        header.filter((h) => h !== 'id').join(','),
        ...rows
          .slice(1)
          .filter((r) => r[header.indexOf('role')] === 'member')
          .map((r) =>
            header
              .map((h, i) => (h === 'id' ? null : h === 'email' ? r[i]!.replace(/@.*/, '@copy.com') : r[i]!))
              .filter((v): v is string => v !== null)
              .map((v) => `"${v.replace(/"/g, '""')}"`)
              .join(','),
          ),
      ].join('\n');
      const r = await request(t.app).post('/api/v1/orgs/copy.com/users/import').set(auth(t.superKey)).set('Content-Type', 'text/csv').send(moved);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.created, rows.slice(1).filter((x) => x[header.indexOf('role')] === 'member').length);
      const carol = (await request(t.app).get('/api/v1/orgs/copy.com/users?uid=carol').set(auth(t.superKey)).expect(200)).body.items[0];
      assert.equal(carol.attributes.displayName, '=HYPERLINK("http://evil")');
      assert.equal(carol.updateTimeStamp, '2013-10-30T13:07:07.000Z');
    });
  });
}
