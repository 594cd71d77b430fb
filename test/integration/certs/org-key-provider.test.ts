import assert from 'node:assert/strict';
import crypto, { X509Certificate, type KeyObject } from 'node:crypto';
import request from 'supertest';
import { ApiError } from '../../../src/admin/api-error.js';
import { importOrgCertificateFromMetadata } from '../../../src/certs/certificate-service.js';
import { createOrgKeyProvider } from '../../../src/certs/org-key-provider.js';
import { EnvelopeError } from '../../../src/crypto/envelope.js';
import { masterKeyFrom } from '../../../src/crypto/master-key.js';
import { findOrgBySlug, type Org } from '../../../src/store/orgs.js';
import { testEngines } from '../../support/databases.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';
import { OpensslWorkspace } from '../../unit/certs/openssl-fixtures.js';
import { auditCount, auth, newOrg, orgVersion } from './cert-fixtures.js';

const spki = (key: KeyObject) => (key.type === 'public' ? key : crypto.createPublicKey(key)).export({ type: 'spki', format: 'der' }).toString('base64');
const certSpki = (pem: string | Buffer) => spki(new X509Certificate(pem).publicKey);

/**
 * What SAML code gets from the key provider (R-CERT-1, R-CERT-2): the right keys in the
 * right order, cached per org version so a change is seen as soon as the org is re-read,
 * and private keys that only the master key opens.
 */
describe('org key provider and metadata certificate import', function () {
  this.timeout(120_000);
  const ws = new OpensslWorkspace();
  let idp: Array<{ certPem: Buffer }>;
  before(() => {
    idp = [1, 2, 3, 4].map((n) => ws.selfSigned(`kp-idp${n}`, 'rsa:2048'));
  });
  after(() => ws.cleanup());

  for (const engine of testEngines()) {
    describe(`[${engine.name}]`, () => {
      let t: TestApp;
      before(async () => {
        t = await startTestApp({ engine });
      });
      after(() => t.close());

      const org = async (slug: string): Promise<Org> => (await findOrgBySlug(t.ctx.database.db, slug))!;
      const exportPem = async (slug: string, key: string, kind: string, id: string) =>
        (await request(t.app).get(`/api/v1/orgs/${slug}/${kind}/${id}/export`).set(auth(key)).buffer(true).expect(200)).text;

      it('gives nothing for an org without service certificates', async () => {
        const { slug } = await newOrg(t);
        const p = createOrgKeyProvider(t.ctx);
        const o = await org(slug);
        assert.equal(await p.activeServiceSigning(o), undefined);
        assert.deepEqual(await p.serviceDecryptionKeys(o), []);
        assert.deepEqual(await p.serviceCertificatesForMetadata(o), []);
        assert.deepEqual(await p.idpVerificationKeys(o, { trustAll: true }), []);
        assert.equal(await p.hasActiveServiceCertificate(o.id), false);
      });

      it('orders service keys active first, decrypts for an IdP still using the previous certificate, and follows activation', async () => {
        const { slug, key } = await newOrg(t);
        const a = (await request(t.app).post(`/api/v1/orgs/${slug}/service-certificates`).set(auth(key)).send({ alias: 'a', validityDays: 365 }).expect(201)).body;
        const b = (await request(t.app).post(`/api/v1/orgs/${slug}/service-certificates`).set(auth(key)).send({ alias: 'b', validityDays: 365 }).expect(201)).body;
        const pemA = await exportPem(slug, key, 'service-certificates', a.id);
        const pemB = await exportPem(slug, key, 'service-certificates', b.id);
        const p = createOrgKeyProvider(t.ctx);
        const v1 = await org(slug);
        assert.equal(await p.hasActiveServiceCertificate(v1.id), true);

        const keys = await p.serviceDecryptionKeys(v1);
        assert.deepEqual(keys.map(spki), [certSpki(pemA), certSpki(pemB)]);
        assert.ok(keys.every((k) => k.type === 'private'));
        assert.deepEqual(await p.serviceCertificatesForMetadata(v1), [
          { pem: pemA, active: true },
          { pem: pemB, active: false },
        ]);
        // Same version: the same KeyObjects, not decrypted again.
        assert.equal((await p.serviceDecryptionKeys(v1))[0], keys[0]);

        // Rollover: an IdP encrypting to B (not active) still gets through with the ordered keys.
        const secret = crypto.randomBytes(32);
        const encrypted = crypto.publicEncrypt({ key: new X509Certificate(pemB).publicKey, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, secret);
        const tryDecrypt = (k: KeyObject) => {
          try {
            return crypto.privateDecrypt({ key: k, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, encrypted);
          } catch {
            return undefined;
          }
        };
        assert.equal(tryDecrypt(keys[0]!), undefined);
        assert.ok(keys.map(tryDecrypt).find(Boolean)?.equals(secret));

        await request(t.app).post(`/api/v1/orgs/${slug}/service-certificates/${b.id}/activate`).set(auth(key)).expect(200);
        const v2 = await org(slug);
        assert.ok(v2.version > v1.version);
        const signing = await p.activeServiceSigning(v2);
        assert.equal(signing?.id, b.id);
        assert.equal(signing?.certificatePem, pemB);
        const after = await p.serviceDecryptionKeys(v2);
        assert.deepEqual(after.map(spki), [certSpki(pemB), certSpki(pemA)]);
        assert.notEqual(after[1], keys[0], 'a new version is loaded afresh');
        // Another instance (another provider) sees the same thing from the same database.
        assert.deepEqual((await createOrgKeyProvider(t.ctx).serviceDecryptionKeys(v2)).map(spki), after.map(spki));
      });

      it('cannot open the service keys without the master key they were sealed under', async () => {
        const { slug, key } = await newOrg(t);
        await request(t.app).post(`/api/v1/orgs/${slug}/service-certificates`).set(auth(key)).send({ alias: 'a', validityDays: 365 }).expect(201);
        const wrong = createOrgKeyProvider({ database: t.ctx.database, masterKey: masterKeyFrom(crypto.randomBytes(32), 'environment') });
        await assert.rejects(wrong.activeServiceSigning(await org(slug)), EnvelopeError);
        await assert.rejects(wrong.serviceDecryptionKeys(await org(slug)), EnvelopeError, 'a failed load is not cached as a success');
      });

      it('verifies with the active organisation certificate, or all of them with trustAll', async () => {
        const { slug, key } = await newOrg(t);
        const ids: string[] = [];
        for (const [i, alias] of ['one', 'two'].entries()) {
          ids.push((await request(t.app).post(`/api/v1/orgs/${slug}/certificates`).set(auth(key)).send({ alias, certificate: idp[i]!.certPem.toString() }).expect(201)).body.id);
        }
        const p = createOrgKeyProvider(t.ctx);
        const v1 = await org(slug);
        assert.deepEqual((await p.idpVerificationKeys(v1, { trustAll: false })).map(spki), [certSpki(idp[0]!.certPem)]);
        assert.deepEqual((await p.idpVerificationKeys(v1, { trustAll: true })).map(spki), [certSpki(idp[0]!.certPem), certSpki(idp[1]!.certPem)]);
        await request(t.app).post(`/api/v1/orgs/${slug}/certificates/${ids[1]}/activate`).set(auth(key)).expect(200);
        assert.deepEqual((await p.idpVerificationKeys(await org(slug), { trustAll: false })).map(spki), [certSpki(idp[1]!.certPem)]);
        // The service keys are a separate list: no IdP key ever shows up there.
        assert.deepEqual(await p.serviceDecryptionKeys(await org(slug)), []);
      });

      it('imports certificates from metadata inside the caller transaction: dedupe, first active, limit, no audit entry of its own', async () => {
        const { slug, key } = await newOrg(t);
        const o = await org(slug);
        const audit0 = await auditCount(t);
        const v0 = await orgVersion(t, slug);
        const asMetadata = (pem: Buffer) => ws.toDer(pem).toString('base64'); // ds:X509Certificate content

        const first = await t.ctx.database.db.transaction().execute((trx) => importOrgCertificateFromMetadata(t.ctx, trx, o, { certificate: asMetadata(idp[0]!.certPem) }));
        assert.equal(first.created, true);
        assert.equal(first.active, true);
        assert.match(first.alias, /^metadata-[0-9a-f]{12}$/);
        assert.equal(first.fingerprintSha256, new X509Certificate(idp[0]!.certPem).fingerprint256.replace(/:/g, '').toLowerCase());
        const again = await t.ctx.database.db.transaction().execute((trx) => importOrgCertificateFromMetadata(t.ctx, trx, o, { certificate: idp[0]!.certPem }));
        assert.deepEqual(again, { ...first, created: false });
        const named = await t.ctx.database.db.transaction().execute((trx) =>
          importOrgCertificateFromMetadata(t.ctx, trx, o, { certificate: asMetadata(idp[1]!.certPem), alias: first.alias }),
        );
        assert.equal(named.alias, `${first.alias}-2`, 'a taken alias gets a suffix');
        assert.equal(named.active, false);
        assert.ok((await orgVersion(t, slug)) > v0);
        assert.equal(await auditCount(t), audit0, 'the calling flow writes the one audit entry');

        const list = (await request(t.app).get(`/api/v1/orgs/${slug}/certificates`).set(auth(key)).expect(200)).body;
        assert.deepEqual(list.map((c: { source: string; active: boolean }) => [c.source, c.active]), [
          ['metadata', true],
          ['metadata', false],
        ]);

        await request(t.app).post(`/api/v1/orgs/${slug}/certificates`).set(auth(key)).send({ alias: 'third', certificate: idp[2]!.certPem.toString() }).expect(201);
        const count = async () => (await t.ctx.database.db.selectFrom('org_certificates').select('id').where('org_id', '=', o.id).execute()).length;
        await assert.rejects(
          t.ctx.database.db.transaction().execute((trx) => importOrgCertificateFromMetadata(t.ctx, trx, o, { certificate: asMetadata(idp[3]!.certPem) })),
          (e) => e instanceof ApiError && e.status === 409 && /limit is 3/.test(e.detail),
        );
        // Known certificates still deduplicate when the org is full.
        const known = await t.ctx.database.db.transaction().execute((trx) => importOrgCertificateFromMetadata(t.ctx, trx, o, { certificate: idp[2]!.certPem }));
        assert.equal(known.created, false);
        await assert.rejects(
          t.ctx.database.db.transaction().execute((trx) => importOrgCertificateFromMetadata(t.ctx, trx, o, { certificate: 'not a certificate' })),
          (e) => e instanceof ApiError && e.status === 422 && e.errors[0]?.field === 'certificate',
        );
        assert.equal(await count(), 3);
      });
    });
  }
});
