import assert from 'node:assert/strict';
import crypto, { X509Certificate } from 'node:crypto';
import type { Response } from 'superagent';
import request from 'supertest';
import { open } from '../../../src/crypto/envelope.js';
import { createOrgKeyProvider } from '../../../src/certs/org-key-provider.js';
import { findOrgBySlug } from '../../../src/store/orgs.js';
import { testEngines } from '../../support/databases.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';
import { OpensslWorkspace, opensslField } from '../../unit/certs/openssl-fixtures.js';
import { auditCount, auth, dumpAllTables, newOrg, orgVersion, snapshot } from './cert-fixtures.js';

/** Collects a response body as bytes (supertest would decode it as text). */
function binaryBody(res: Response, cb: (err: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (d: Buffer) => chunks.push(d));
  res.on('end', () => cb(null, Buffer.concat(chunks)));
}

/**
 * The certificate admin API (R-CERT-1 … R-CERT-4, Appendix A) through the real app on every
 * engine: what is generated and exported is a real certificate other parsers agree on, bad
 * input changes nothing, the limits and the single active certificate hold, and no private
 * key ever leaves the process or rests in the database in clear.
 */
describe('certificate admin API', function () {
  this.timeout(120_000);
  const ws = new OpensslWorkspace();
  let idp: Array<{ certPem: Buffer; keyPem: Buffer }>;
  let ec: { certPem: Buffer };
  let bad: { randomBytes: Buffer; truncatedDer: Buffer; privateKeyPem: Buffer; csrPem: Buffer; twoCertificates: Buffer; rsa512: Buffer };

  before(() => {
    idp = [1, 2, 3, 4, 5].map((n) => ws.selfSigned(`idp${n}`, 'rsa:2048', { subject: `/CN=idp${n}.example.com/O=Test IdP` }));
    ec = ws.selfSigned('ec', 'ec', { pkeyopt: ['ec_paramgen_curve:P-256'] });
    ws.run(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=csr', '-keyout', 'csr.key', '-out', 'csr.pem']);
    const der = ws.toDer(idp[0]!.certPem);
    bad = {
      randomBytes: crypto.randomBytes(700),
      truncatedDer: der.subarray(0, der.length - 60),
      privateKeyPem: idp[0]!.keyPem,
      csrPem: ws.read('csr.pem'),
      twoCertificates: Buffer.concat([idp[0]!.certPem, idp[1]!.certPem]),
      rsa512: ws.selfSigned('rsa512', 'rsa:512').certPem,
    };
  });
  after(() => ws.cleanup());

  for (const engine of testEngines()) {
    describe(`[${engine.name}]`, () => {
      let t: TestApp;
      before(async () => {
        t = await startTestApp({ engine });
      });
      after(() => t.close());

      const base = (slug: string, kind: 'service-certificates' | 'certificates') => `/api/v1/orgs/${slug}/${kind}`;
      const generate = (slug: string, key: string, body: object) => request(t.app).post(base(slug, 'service-certificates')).set(auth(key)).send(body);
      const importJson = (slug: string, key: string, body: object) => request(t.app).post(base(slug, 'certificates')).set(auth(key)).send(body);

      it('generates a service certificate whose PEM and DER exports other parsers read as the API describes it', async () => {
        const { slug, key } = await newOrg(t);
        const now = t.clock.now();
        const created = await generate(slug, key, { alias: 'sp-2026', validityDays: 365 });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        const c = created.body;
        assert.equal(created.headers.location, `/api/v1/orgs/${slug}/service-certificates/${c.id}`);
        assert.equal(c.alias, 'sp-2026');
        assert.equal(c.active, true, 'the first service certificate becomes active');
        assert.equal(c.version, 3);
        assert.equal(c.keyType, 'RSA');
        assert.equal(c.keySize, 2048);
        assert.equal(c.signatureAlgorithm, 'sha256WithRSAEncryption');
        assert.equal(c.subject, `CN=${slug} fedbridge SP, O=fedbridge`);
        assert.equal(c.issuer, c.subject);
        assert.equal(c.expired, false);
        assert.equal(c.createdAt, new Date(now).toISOString());
        const days = (Date.parse(c.validTo) - now) / 86_400_000;
        assert.ok(days > 364.99 && days <= 365, `valid for ${days} days`);
        assert.equal(c.source, undefined);

        const details = await request(t.app).get(`${base(slug, 'service-certificates')}/${c.id}`).set(auth(key)).expect(200);
        assert.deepEqual(details.body, c);
        const list = await request(t.app).get(base(slug, 'service-certificates')).set(auth(key)).expect(200);
        assert.deepEqual(list.body, [c]);

        const pem = await request(t.app).get(`${base(slug, 'service-certificates')}/${c.id}/export`).set(auth(key)).buffer(true).expect(200);
        assert.match(pem.headers['content-type']!, /^application\/x-pem-file/);
        assert.equal(pem.headers['content-disposition'], 'attachment; filename="sp-2026.cer"');
        const pemText = pem.text;
        assert.match(pemText, /^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/);
        assert.doesNotMatch(pemText, /PRIVATE KEY/);

        const derRes = await request(t.app)
          .get(`${base(slug, 'service-certificates')}/${c.id}/export?format=der`)
          .set(auth(key))
          .buffer(true)
          .parse(binaryBody)
          .expect(200);
        assert.equal(derRes.headers['content-type'], 'application/pkix-cert');
        assert.equal(derRes.headers['content-disposition'], 'attachment; filename="sp-2026.cer"');
        const der = derRes.body as Buffer;

        // node's parser
        for (const x509 of [new X509Certificate(pemText), new X509Certificate(der)]) {
          assert.equal(x509.serialNumber.toUpperCase(), c.serialNumber);
          assert.equal(x509.fingerprint256, c.sha256Fingerprint);
          assert.equal(x509.fingerprint, c.sha1Fingerprint);
          assert.equal(Date.parse(x509.validTo), Date.parse(c.validTo));
          assert.equal(x509.subject.split('\n').join(', '), c.subject);
          assert.ok(x509.verify(x509.publicKey), 'self-signed');
          assert.equal(x509.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'), c.subjectPublicKeyInfo);
        }
        assert.ok(new X509Certificate(pemText).raw.equals(der), 'PEM and DER exports are the same certificate');

        // OpenSSL, on both encodings
        const derFile = ws.write(der);
        for (const [input, inform] of [
          [ws.write(pemText), 'PEM'],
          [derFile, 'DER'],
        ] as const) {
          const field = (...flags: string[]) => {
            const out = ws.run(['x509', '-inform', inform, '-in', input, '-noout', ...flags]).toString().trim();
            return out.slice(out.indexOf('=') + 1);
          };
          assert.equal(field('-serial'), c.serialNumber);
          assert.equal(field('-fingerprint', '-sha256'), c.sha256Fingerprint);
          assert.equal(Date.parse(field('-enddate')), Date.parse(c.validTo));
          assert.match(field('-subject'), new RegExp(`CN ?= ?${slug.replace(/\./g, '\\.')} fedbridge SP`));
        }
        assert.equal(opensslField(ws, pemText, '-serial'), c.serialNumber);
      });

      it('flags a certificate expiring within 30 days, then expired, by the injected clock', async () => {
        const { slug, key } = await newOrg(t);
        const c = (await generate(slug, key, { alias: 'short', validityDays: 90 }).expect(201)).body;
        const details = async () => (await request(t.app).get(`${base(slug, 'service-certificates')}/${c.id}`).set(auth(key)).expect(200)).body;
        const start = t.clock.now();
        try {
          assert.deepEqual([c.expiresSoon, c.expired], [false, false]);
          t.clock.advance(61 * 86_400_000);
          assert.deepEqual([(await details()).expiresSoon, (await details()).expired], [true, false]);
          t.clock.advance(30 * 86_400_000);
          assert.deepEqual([(await details()).expiresSoon, (await details()).expired], [false, true]);
        } finally {
          t.clock.set(start);
        }
      });

      it('generates with a larger key size when asked, and only the allowed ones', async () => {
        const { slug, key } = await newOrg(t);
        const made = await generate(slug, key, { alias: 'big', validityDays: 90, keySize: 3072 }).expect(201);
        assert.equal(made.body.keySize, 3072);
        const before = await snapshot(t);
        for (const keySize of [1024, 8192, '4096', 2048.5]) {
          const r = await generate(slug, key, { alias: 'x', validityDays: 90, keySize });
          assert.equal(r.status, 422);
          assert.deepEqual(r.body.errors.map((e: { field: string }) => e.field), ['keySize']);
        }
        assert.deepEqual(await snapshot(t), before);
      });

      it('signs with the service key from the key provider; the exported certificate verifies it', async () => {
        const { slug, key } = await newOrg(t);
        const c = (await generate(slug, key, { alias: 'signing', validityDays: 400 }).expect(201)).body;
        const pem = (await request(t.app).get(`${base(slug, 'service-certificates')}/${c.id}/export`).set(auth(key)).buffer(true).expect(200)).text;
        const org = (await findOrgBySlug(t.ctx.database.db, slug))!;
        const signing = await t.ctx.orgKeys.activeServiceSigning(org); // the provider the app context carries
        assert.ok(signing);
        assert.equal(signing.id, c.id);
        assert.equal(signing.certificatePem, pem);
        const data = Buffer.from('<samlp:AuthnRequest ID="_1"/>');
        const signature = crypto.sign('sha256', data, signing.key);
        assert.ok(crypto.verify('sha256', data, new X509Certificate(pem).publicKey, signature));
        assert.ok(!crypto.verify('sha256', Buffer.from('tampered'), new X509Certificate(pem).publicKey, signature));
      });

      it('never holds a private key in clear in the database, answers or logs', async () => {
        const { slug, key } = await newOrg(t);
        const first = (await generate(slug, key, { alias: 'k1', validityDays: 365 }).expect(201)).body;
        await generate(slug, key, { alias: 'k2', validityDays: 365 }).expect(201);
        const org = (await findOrgBySlug(t.ctx.database.db, slug))!;
        const keys = await createOrgKeyProvider(t.ctx).serviceDecryptionKeys(org);
        assert.equal(keys.length, 2);

        const { tables, text } = await dumpAllTables(t);
        assert.ok(tables.includes('service_certificates') && tables.includes('audit_log') && tables.includes('orgs'));
        assert.doesNotMatch(text, /PRIVATE KEY/);
        for (const k of keys) {
          const pkcs8 = k.export({ type: 'pkcs8', format: 'der' });
          const pkcs1 = k.export({ type: 'pkcs1', format: 'der' });
          for (const encoded of [pkcs8.toString('base64'), pkcs1.toString('base64'), pkcs8.toString('hex')]) {
            // Any 48-character window of the encoding would betray the key.
            const middle = encoded.slice(Math.floor(encoded.length / 2), Math.floor(encoded.length / 2) + 48);
            assert.ok(!text.includes(middle), 'key material found in the database');
          }
          // The RSA private exponent, in any common text form.
          const d = k.export({ format: 'jwk' }).d!;
          assert.ok(!text.includes(d.slice(0, 40)));
        }
        // What is stored is a sealed envelope bound to its row: it opens to the key, and only for that row.
        const row = await t.ctx.database.db.selectFrom('service_certificates').selectAll().where('id', '=', first.id).executeTakeFirstOrThrow();
        assert.match(row.private_key_sealed, /^fbenc1:/);
        const opened = open(t.ctx.masterKey, row.private_key_sealed, `service-cert:${first.id}`).toString();
        assert.match(opened, /^-----BEGIN PRIVATE KEY-----/);
        assert.equal(
          crypto.createPrivateKey(opened).export({ type: 'pkcs8', format: 'der' }).toString('base64'),
          keys[0]!.export({ type: 'pkcs8', format: 'der' }).toString('base64'),
        );
        assert.throws(() => open(t.ctx.masterKey, row.private_key_sealed, 'service-cert:another-row'));

        // Nothing the API answers contains a key or its envelope.
        for (const path of [
          base(slug, 'service-certificates'),
          `${base(slug, 'service-certificates')}/${first.id}`,
          `${base(slug, 'service-certificates')}/${first.id}/export`,
          `/api/v1/orgs/${slug}/audit`,
        ]) {
          const r = await request(t.app).get(path).set(auth(key)).buffer(true).expect(200);
          assert.doesNotMatch(r.text, /PRIVATE KEY|fbenc1|private_?key/i, path);
        }
        assert.doesNotMatch(t.logs.text(), /PRIVATE KEY|fbenc1/);
      });

      it('imports organisation certificates as JSON (PEM, base64 DER), multipart (file or field) and a raw file', async () => {
        const a = await newOrg(t);
        const b = await newOrg(t);
        const der = (pem: Buffer) => ws.toDer(pem);

        const pemJson = await importJson(a.slug, a.key, { alias: 'idp-pem', certificate: idp[0]!.certPem.toString() });
        assert.equal(pemJson.status, 201, JSON.stringify(pemJson.body));
        assert.equal(pemJson.body.active, true, 'the first organisation certificate becomes active');
        assert.equal(pemJson.body.source, 'upload');
        assert.equal(pemJson.body.subject, 'CN=idp1.example.com, O=Test IdP');
        assert.equal(pemJson.headers.location, `/api/v1/orgs/${a.slug}/certificates/${pemJson.body.id}`);

        const b64 = await importJson(a.slug, a.key, { alias: 'idp-b64', certificate: der(idp[1]!.certPem).toString('base64') });
        assert.equal(b64.status, 201, JSON.stringify(b64.body));
        assert.equal(b64.body.active, false);
        assert.equal(b64.body.subject, 'CN=idp2.example.com, O=Test IdP');
        t.clock.advance(1000); // lists are oldest first: give the next import a later timestamp

        const file = await request(t.app)
          .post(base(a.slug, 'certificates'))
          .set(auth(a.key))
          .field('alias', 'idp-ec')
          .attach('certificate', der(ec.certPem), { filename: 'idp.cer', contentType: 'application/pkix-cert' });
        assert.equal(file.status, 201, JSON.stringify(file.body));
        assert.equal(file.body.keyType, 'EC');
        assert.equal(file.body.curve, 'P-256');

        const field = await request(t.app).post(base(b.slug, 'certificates')).set(auth(b.key)).field('alias', 'as-field').field('certificate', idp[2]!.certPem.toString());
        assert.equal(field.status, 201, JSON.stringify(field.body));

        const raw = await request(t.app)
          .post(`${base(b.slug, 'certificates')}?alias=raw-der`)
          .set(auth(b.key))
          .set('Content-Type', 'application/pkix-cert')
          .send(der(idp[3]!.certPem));
        assert.equal(raw.status, 201, JSON.stringify(raw.body));
        assert.equal(raw.body.subject, 'CN=idp4.example.com, O=Test IdP');

        const list = await request(t.app).get(base(a.slug, 'certificates')).set(auth(a.key)).expect(200);
        assert.deepEqual(
          list.body.map((c: { alias: string; active: boolean }) => [c.alias, c.active]),
          [
            ['idp-pem', true],
            ['idp-b64', false],
            ['idp-ec', false],
          ],
        );
        // The export is the certificate that was uploaded, byte for byte.
        const exported = await request(t.app)
          .get(`${base(a.slug, 'certificates')}/${b64.body.id}/export?format=der`)
          .set(auth(a.key))
          .buffer(true)
          .parse(binaryBody)
          .expect(200);
        assert.ok((exported.body as Buffer).equals(der(idp[1]!.certPem)));
        const pemExport = await request(t.app).get(`${base(a.slug, 'certificates')}/${pemJson.body.id}/export`).set(auth(a.key)).buffer(true).expect(200);
        assert.equal(pemExport.text.trim(), idp[0]!.certPem.toString().trim());
      });

      it('names the exported file after the alias without letting the alias break the header', async () => {
        const { slug, key } = await newOrg(t);
        const c = await importJson(slug, key, { alias: 'Acme "IdP" é\\2026', certificate: idp[0]!.certPem.toString() }).expect(201);
        const r = await request(t.app).get(`${base(slug, 'certificates')}/${c.body.id}/export`).set(auth(key)).expect(200);
        assert.equal(
          r.headers['content-disposition'],
          `attachment; filename="Acme _IdP_ __2026.cer"; filename*=UTF-8''Acme%20%22IdP%22%20%C3%A9%5C2026.cer`,
        );
      });

      it('refuses bad certificate files with 422 naming the certificate, in every form, and stores nothing', async () => {
        const { slug, key } = await newOrg(t);
        await importJson(slug, key, { alias: 'existing', certificate: idp[0]!.certPem.toString() }).expect(201);
        const cases: Array<[string, Buffer, RegExp]> = [
          ['random bytes', bad.randomBytes, /not a (well-formed X\.509 )?certificate/],
          ['truncated DER', bad.truncatedDer, /truncated/],
          ['a PEM private key', bad.privateKeyPem, /holds a private key, not a certificate/],
          ['a CSR', bad.csrPem, /certificate signing request/],
          ['two certificates in one file', bad.twoCertificates, /(2|more than one) certificates?/],
          ['RSA 512', bad.rsa512, /RSA keys of 512 bits are not supported/],
        ];
        const before = await snapshot(t);
        for (const [name, bytes, message] of cases) {
          const isText = /^[\t\n\r\x20-\x7e]*$/.test(bytes.toString('latin1'));
          const answers = [
            await importJson(slug, key, { alias: name, certificate: isText ? bytes.toString() : bytes.toString('base64') }),
            await request(t.app).post(base(slug, 'certificates')).set(auth(key)).field('alias', name).attach('certificate', bytes, 'upload.cer'),
            await request(t.app).post(`${base(slug, 'certificates')}?alias=x`).set(auth(key)).set('Content-Type', 'application/octet-stream').send(bytes),
          ];
          for (const r of answers) {
            assert.equal(r.status, 422, `${name}: ${r.status} ${JSON.stringify(r.body)}`);
            assert.equal(r.type, 'application/problem+json');
            assert.deepEqual(r.body.errors.map((e: { field: string }) => e.field), ['certificate'], name);
            assert.match(r.body.detail, message, name);
            assert.doesNotMatch(r.text, /MII[A-Za-z0-9+/]{40}/, `${name}: the answer echoes no key or certificate`);
          }
        }
        assert.deepEqual(await snapshot(t), before);
      });

      it('refuses malformed import requests with a clear status and stores nothing', async () => {
        const { slug, key } = await newOrg(t);
        const before = await snapshot(t);
        const cases: Array<[string, () => request.Test, number, string?]> = [
          ['no alias', () => importJson(slug, key, { certificate: idp[0]!.certPem.toString() }), 422, 'alias'],
          ['empty alias', () => importJson(slug, key, { alias: '  ', certificate: idp[0]!.certPem.toString() }), 422, 'alias'],
          ['control characters in the alias', () => importJson(slug, key, { alias: 'a\nb', certificate: idp[0]!.certPem.toString() }), 422, 'alias'],
          ['no certificate', () => importJson(slug, key, { alias: 'a' }), 422, 'certificate'],
          ['certificate not a string', () => importJson(slug, key, { alias: 'a', certificate: 42 }), 422, 'certificate'],
          ['unknown field', () => importJson(slug, key, { alias: 'a', certificate: idp[0]!.certPem.toString(), active: true }), 422, 'body'],
          [
            'a file too large to be a certificate',
            () => request(t.app).post(base(slug, 'certificates')).set(auth(key)).field('alias', 'big').attach('certificate', Buffer.alloc(70_000, 0x41), 'big.cer'),
            422,
            'certificate',
          ],
          [
            'a file under another field name',
            () => request(t.app).post(base(slug, 'certificates')).set(auth(key)).field('alias', 'x').attach('file', idp[0]!.certPem, 'idp.cer'),
            422,
            'file',
          ],
          ['a raw file without alias', () => request(t.app).post(base(slug, 'certificates')).set(auth(key)).set('Content-Type', 'application/x-pem-file').send(idp[0]!.certPem), 422, 'alias'],
          ['an unsupported content type', () => request(t.app).post(base(slug, 'certificates')).set(auth(key)).set('Content-Type', 'application/xml').send('<x/>'), 415],
        ];
        for (const [name, send, status, field] of cases) {
          const r = await send();
          assert.equal(r.status, status, `${name}: ${r.status} ${JSON.stringify(r.body)}`);
          assert.equal(r.type, 'application/problem+json', name);
          if (field) assert.ok(r.body.errors.some((e: { field: string }) => e.field === field), `${name} names ${field}: ${JSON.stringify(r.body.errors)}`);
        }
        assert.deepEqual(await snapshot(t), before);
      });

      it('refuses a service certificate valid 89 or 3653 days (and other bad bodies) with 422, storing nothing', async () => {
        const { slug, key } = await newOrg(t);
        const before = await snapshot(t);
        const cases: Array<[object, string, RegExp]> = [
          [{ alias: 'a', validityDays: 89 }, 'validityDays', /at least 90/],
          [{ alias: 'a', validityDays: 3653 }, 'validityDays', /at most 3652/],
          [{ alias: 'a', validityDays: 365.5 }, 'validityDays', /whole number/],
          [{ alias: 'a', validityDays: '365' }, 'validityDays', /whole number/],
          [{ alias: 'a' }, 'validityDays', /whole number/],
          [{ validityDays: 365 }, 'alias', /string/],
          [{ alias: 'x'.repeat(65), validityDays: 365 }, 'alias', /at most 64/],
          [{ alias: 'a', validityDays: 365, privateKey: 'mine' }, 'body', /./],
        ];
        for (const [body, field, message] of cases) {
          const r = await generate(slug, key, body);
          assert.equal(r.status, 422, JSON.stringify(body));
          assert.equal(r.body.errors[0].field, field, JSON.stringify(body));
          assert.match(r.body.errors[0].message, message, JSON.stringify(body));
        }
        assert.deepEqual(await snapshot(t), before);
        // The boundaries themselves are accepted.
        await generate(slug, key, { alias: 'min', validityDays: 90 }).expect(201);
        await generate(slug, key, { alias: 'max', validityDays: 3652 }).expect(201);
      });

      for (const kind of ['service-certificates', 'certificates'] as const) {
        describe(kind, () => {
          let n = 0;
          const add = (slug: string, key: string, alias: string) =>
            kind === 'service-certificates'
              ? generate(slug, key, { alias, validityDays: 365 })
              : importJson(slug, key, { alias, certificate: idp[n++ % idp.length]!.certPem.toString() });

          it('keeps at most three and exactly one active; refuses a duplicate alias, a fourth and removing the active one (409)', async () => {
            const { slug, key } = await newOrg(t);
            const ids: string[] = [];
            for (const alias of ['one', 'two', 'three']) {
              const r = await add(slug, key, alias);
              assert.equal(r.status, 201, JSON.stringify(r.body));
              assert.equal(r.body.active, alias === 'one');
              ids.push(r.body.id);
            }
            const before = await snapshot(t);
            const dup = await add(slug, key, 'two');
            assert.equal(dup.status, 409);
            assert.match(dup.body.detail, /alias "two" already exists/);
            const fourth = await add(slug, key, 'four');
            assert.equal(fourth.status, 409);
            assert.match(fourth.body.detail, /already has 3 .*the limit is 3/);
            const removeActive = await request(t.app).delete(`${base(slug, kind)}/${ids[0]}`).set(auth(key));
            assert.equal(removeActive.status, 409);
            assert.match(removeActive.body.detail, /"one" is the active one and cannot be removed; activate another/);
            await request(t.app).delete(`${base(slug, kind)}/00000000-0000-0000-0000-000000000000`).set(auth(key)).expect(404);
            await request(t.app).post(`${base(slug, kind)}/nope/activate`).set(auth(key)).expect(404);
            await request(t.app).get(`${base(slug, kind)}/nope`).set(auth(key)).expect(404);
            const badFormat = await request(t.app).get(`${base(slug, kind)}/${ids[0]}/export?format=p12`).set(auth(key));
            assert.equal(badFormat.status, 422);
            assert.equal(badFormat.body.errors[0].field, 'format');
            assert.deepEqual(await snapshot(t), before);

            // Activation moves the single active flag; the old active one can then go.
            const v0 = await orgVersion(t, slug);
            const activated = await request(t.app).post(`${base(slug, kind)}/${ids[2]}/activate`).set(auth(key)).expect(200);
            assert.equal(activated.body.active, true);
            assert.equal(activated.body.id, ids[2]);
            const list = (await request(t.app).get(base(slug, kind)).set(auth(key)).expect(200)).body as Array<{ id: string; active: boolean }>;
            assert.deepEqual(list.filter((c) => c.active).map((c) => c.id), [ids[2]]);
            assert.equal(list[0]!.id, ids[2], 'the active certificate is listed first');
            assert.ok((await orgVersion(t, slug)) > v0, 'activation bumps the org version');

            await request(t.app).delete(`${base(slug, kind)}/${ids[0]}`).set(auth(key)).expect(204);
            await request(t.app).get(`${base(slug, kind)}/${ids[0]}`).set(auth(key)).expect(404);
            const again = await add(slug, key, 'four');
            assert.equal(again.status, 201, 'room for a third again after a removal');
            assert.equal(again.body.active, false);
          });

          it('writes exactly one audit entry per change (none for refusals, reads or a no-op activation), without key material', async () => {
            const { slug, key } = await newOrg(t);
            let count = await auditCount(t);
            let version = await orgVersion(t, slug);
            const step = async (fn: () => Promise<unknown>, expected: number) => {
              await fn();
              const now = await auditCount(t);
              assert.equal(now - count, expected);
              const v = await orgVersion(t, slug);
              assert.equal(v > version, expected > 0, 'the org version moves with every change and only then');
              count = now;
              version = v;
            };
            let first = '';
            let second = '';
            await step(async () => (first = (await add(slug, key, 'a').expect(201)).body.id), 1);
            await step(async () => (second = (await add(slug, key, 'b').expect(201)).body.id), 1);
            await step(() => request(t.app).post(`${base(slug, kind)}/${first}/activate`).set(auth(key)).expect(200), 0);
            await step(() => request(t.app).post(`${base(slug, kind)}/${second}/activate`).set(auth(key)).expect(200), 1);
            await step(() => request(t.app).delete(`${base(slug, kind)}/${second}`).set(auth(key)).expect(409), 0);
            await step(() => request(t.app).delete(`${base(slug, kind)}/${first}`).set(auth(key)).expect(204), 1);
            await step(() => request(t.app).get(base(slug, kind)).set(auth(key)).expect(200), 0);
            const audit = (await request(t.app).get(`/api/v1/orgs/${slug}/audit`).set(auth(key)).expect(200)).body as Array<{
              action: string;
              target: string;
              details: { before?: Record<string, unknown>; after?: Record<string, unknown> };
            }>;
            const prefix = kind === 'service-certificates' ? 'serviceCertificate' : 'orgCertificate';
            const created = kind === 'service-certificates' ? 'generate' : 'import';
            assert.deepEqual(
              audit.filter((e) => e.action.startsWith(prefix)).map((e) => e.action),
              [`${prefix}.remove`, `${prefix}.activate`, `${prefix}.${created}`, `${prefix}.${created}`],
            );
            const activation = audit.find((e) => e.action === `${prefix}.activate`)!;
            assert.deepEqual(activation.details, { before: { active: { id: first, alias: 'a' } }, after: { active: { id: second, alias: 'b' } } });
            assert.equal(activation.target, `${prefix}:${second}`);
            const creation = audit.find((e) => e.action === `${prefix}.${created}`)!;
            assert.match(String(creation.details.after!.sha256Fingerprint), /^[0-9a-f]{64}$/);
            assert.doesNotMatch(JSON.stringify(audit), /PRIVATE KEY|fbenc1|BEGIN CERTIFICATE/);
          });
        });
      }

      it('refuses a certificate already imported (same fingerprint, other alias) with 409', async () => {
        const { slug, key } = await newOrg(t);
        await importJson(slug, key, { alias: 'first', certificate: idp[0]!.certPem.toString() }).expect(201);
        const before = await snapshot(t);
        const dup = await importJson(slug, key, { alias: 'second', certificate: ws.toDer(idp[0]!.certPem).toString('base64') });
        assert.equal(dup.status, 409);
        assert.match(dup.body.detail, /already imported in this organisation as "first"/);
        assert.deepEqual(await snapshot(t), before);
      });

      it('answers 403 where the SSO related options matrix hides certificate management (R-ORG-2)', async () => {
        const plain = await newOrg(t, { ssoEnabled: false, delegatedAuthOrg: false });
        const delegated = await newOrg(t, { ssoEnabled: false, delegatedAuthOrg: true });
        const before = await snapshot(t);
        const routes = (slug: string, kind: string): Array<[string, string, object?]> => [
          ['get', `/api/v1/orgs/${slug}/${kind}`],
          ['post', `/api/v1/orgs/${slug}/${kind}`, { alias: 'x', validityDays: 365, certificate: idp[0]!.certPem.toString() }],
          ['get', `/api/v1/orgs/${slug}/${kind}/some-id`],
          ['get', `/api/v1/orgs/${slug}/${kind}/some-id/export`],
          ['delete', `/api/v1/orgs/${slug}/${kind}/some-id`],
          ['post', `/api/v1/orgs/${slug}/${kind}/some-id/activate`],
        ];
        for (const [org, kind, label] of [
          [plain, 'service-certificates', /Service Certificate Management is not available .* only to SSO organisations/],
          [plain, 'certificates', /Organization Certificate Management is not available .* SSO organisations and Delegated Authentication organisations/],
          [delegated, 'service-certificates', /Service Certificate Management is not available/],
        ] as const) {
          for (const [method, path, body] of routes(org.slug, kind)) {
            for (const k of [org.key, t.superKey]) {
              const r = await (request(t.app) as any)[method](path).set(auth(k)).send(body ?? {});
              assert.equal(r.status, 403, `${method} ${path}`);
              assert.match(r.body.detail, label);
            }
          }
        }
        assert.deepEqual(await snapshot(t), before);
        // A Delegated Authentication org manages organisation certificates.
        await importJson(delegated.slug, delegated.key, { alias: 'partner-idp', certificate: idp[0]!.certPem.toString() }).expect(201);
      });

      it('lets a user administrator read but not change, and keeps other orgs out', async () => {
        const { slug, key } = await newOrg(t);
        const other = await newOrg(t);
        const c = (await generate(slug, key, { alias: 'sp', validityDays: 365 }).expect(201)).body;
        const userAdmin = (await request(t.app).post(`/api/v1/orgs/${slug}/api-keys`).set(auth(key)).send({ role: 'userAdmin', label: 'u' }).expect(201)).body.key;
        await request(t.app).get(base(slug, 'service-certificates')).set(auth(userAdmin)).expect(200);
        await request(t.app).get(`${base(slug, 'service-certificates')}/${c.id}`).set(auth(userAdmin)).expect(200);
        await request(t.app).get(`${base(slug, 'service-certificates')}/${c.id}/export`).set(auth(userAdmin)).expect(200);
        const before = await snapshot(t);
        await generate(slug, userAdmin, { alias: 'u', validityDays: 365 }).expect(403);
        await importJson(slug, userAdmin, { alias: 'u', certificate: idp[0]!.certPem.toString() }).expect(403);
        await request(t.app).post(`${base(slug, 'service-certificates')}/${c.id}/activate`).set(auth(userAdmin)).expect(403);
        await request(t.app).delete(`${base(slug, 'service-certificates')}/${c.id}`).set(auth(userAdmin)).expect(403);
        await request(t.app).get(`${base(slug, 'service-certificates')}/${c.id}`).set(auth(other.key)).expect(403);
        await request(t.app).get(`${base(other.slug, 'service-certificates')}/${c.id}`).set(auth(other.key)).expect(404);
        await request(t.app).delete(`${base(other.slug, 'service-certificates')}/${c.id}`).set(auth(other.key)).expect(404);
        assert.deepEqual(await snapshot(t), before);
      });
    });
  }
});
