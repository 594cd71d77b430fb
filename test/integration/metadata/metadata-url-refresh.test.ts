/**
 * Metadata by URL (R-SAML-7) on every engine: importing `{url}` makes the org follow it — its
 * organisation certificates ARE the document's, all trusted — and refreshes keep it so: on a
 * schedule (cacheDuration, else daily), at once when a signature comes from an unknown key
 * (rate-limited), or on an administrator's request. A failed refresh keeps the last good copy
 * and is reported in the audit log and the metrics. The IdP is a local HTTP server, allowed
 * by the operator setting for private addresses.
 */
import assert from 'node:assert/strict';
import request from 'supertest';
import { refreshMetadataOnUnknownKey, startMetadataRefreshScheduler, UNKNOWN_KEY_REFRESH_INTERVAL_MS } from '../../../src/saml/metadata-refresh.js';
import { findOrgBySlug } from '../../../src/store/orgs.js';
import { testEngines } from '../../support/databases.js';
import { startTestApp, type TestApp } from '../../support/test-app.js';
import { generateTestKeyPair, TestIdp, type TestKeyPair } from '../../support/test-idp.js';
import { auditEntries, auth, MetadataServer, newOrg, snapshot } from './metadata-fixtures.js';

const HOUR = 3600_000;

for (const engine of testEngines()) {
  describe(`metadata by URL: following, refresh, rotation [${engine.name}]`, function () {
    this.timeout(60_000);
    let t: TestApp;
    let server: MetadataServer;
    let idp: TestIdp;
    let next: TestKeyPair;

    /** The IdP's metadata with the given signing certificates (its own key first unless told). */
    const document = (opts: { certs?: string[]; cacheDuration?: string; ssoUrl?: string } = {}) => {
      const [first, ...rest] = opts.certs ?? [idp.certPem];
      const own = new TestIdp({ entityId: idp.entityId, keyPair: { ...idp.keyPair, certBase64: first!.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, '') } });
      let xml = own.metadataXml({ ssoUrl: opts.ssoUrl ?? 'https://idp.example/sso', sloUrl: 'https://idp.example/slo', extraSigningCerts: rest });
      if (opts.cacheDuration) xml = xml.replace('<md:EntityDescriptor ', `<md:EntityDescriptor cacheDuration="${opts.cacheDuration}" `);
      return xml;
    };
    /** The org's certificates, fingerprints as lower-case hex (the test key pairs' form). */
    const certsOf = async (slug: string, key: string) =>
      ((await request(t.app).get(`/api/v1/orgs/${slug}/certificates`).set(auth(key)).expect(200)).body as Array<{ id: string; sha256Fingerprint: string; active: boolean }>).map(
        (c) => ({ ...c, sha256Fingerprint: c.sha256Fingerprint.replace(/:/g, '').toLowerCase() }),
      );
    const sourceOf = async (slug: string, key: string) => (await request(t.app).get(`/api/v1/orgs/${slug}/sso/metadata/source`).set(auth(key)).expect(200)).body;
    const follow = async (slug: string, key: string) => {
      const r = await request(t.app).post(`/api/v1/orgs/${slug}/sso/metadata`).set(auth(key)).send({ url: server.url() });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body;
    };
    const refresh = async (slug: string, key: string) => {
      const r = await request(t.app).post(`/api/v1/orgs/${slug}/sso/metadata/refresh`).set(auth(key));
      return r;
    };

    before(async () => {
      t = await startTestApp({ engine, config: { metadataAllowPrivate: true } });
      server = await new MetadataServer().start();
      idp = new TestIdp({ entityId: 'https://followed-idp.example/saml' });
      next = generateTestKeyPair({ commonName: 'next idp key' });
    });
    after(async () => {
      await server.stop();
      await t.close();
    });
    beforeEach(() => {
      server.status = 200;
      server.body = document();
    });

    it('follows a URL: configuration filled, trustAllCertificates on, refresh scheduled from cacheDuration', async () => {
      const { slug, key } = await newOrg(t);
      server.body = document({ cacheDuration: 'PT6H' });
      const r = await follow(slug, key);
      assert.equal(r.url, server.url());
      assert.equal(r.certificatesImported.length, 1);
      assert.deepEqual(r.changed.trustAllCertificates, { before: false, after: true });
      assert.equal(r.nextRefreshAt, new Date(t.clock.now() + 6 * HOUR).toISOString());
      const source = await sourceOf(slug, key);
      assert.equal(source.following, true);
      assert.equal(source.url, server.url());
      assert.equal(source.lastError, null);
      const sso = (await request(t.app).get(`/api/v1/orgs/${slug}/sso`).set(auth(key))).body;
      assert.equal(sso.idpEntityId, idp.entityId);
      assert.equal(sso.trustAllCertificates, true);
    });

    it('without cacheDuration the refresh is daily', async () => {
      const { slug, key } = await newOrg(t);
      const r = await follow(slug, key);
      assert.equal(r.nextRefreshAt, new Date(t.clock.now() + 24 * HOUR).toISOString());
    });

    it('certificates follow the document: a rotated key is added, a dropped one removed, the active one replaced', async () => {
      const { slug, key, id } = await newOrg(t);
      await follow(slug, key);
      const [old] = await certsOf(slug, key);
      assert.equal(old?.active, true);

      // Rollover announced: both keys listed.
      server.body = document({ certs: [idp.certPem, next.certPem] });
      let r = await refresh(slug, key);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.outcome, 'updated');
      assert.equal(r.body.certificatesChanged, true);
      assert.deepEqual((await certsOf(slug, key)).map((c) => [c.sha256Fingerprint, c.active]), [
        [idp.keyPair.fingerprint256, true],
        [next.fingerprint256, false],
      ]);

      // Old key dropped: the org's active certificate goes with it, the next one takes over.
      server.body = document({ certs: [next.certPem] });
      r = await refresh(slug, key);
      assert.equal(r.body.outcome, 'updated');
      assert.deepEqual((await certsOf(slug, key)).map((c) => [c.sha256Fingerprint, c.active]), [[next.fingerprint256, true]]);

      const refreshes = (await auditEntries(t, id)).filter((a) => a.action === 'sso.metadata.refresh');
      assert.equal(refreshes.length, 2);
      assert.equal(refreshes[1]!.actor, 'system:metadata-refresh');
      assert.equal(JSON.parse(refreshes[1]!.details).certificatesRemoved[0].sha256Fingerprint, idp.keyPair.fingerprint256);

      // The key provider sees the new key at once (the org version moved).
      const org = (await findOrgBySlug(t.ctx.database.db, slug))!;
      const keys = await t.ctx.orgKeys.idpVerificationKeys(org, { trustAll: true });
      assert.equal(keys.length, 1);
      assert.ok(keys[0]!.equals(next.publicKey));
    });

    it('an unchanged document changes nothing and writes no audit entry', async () => {
      const { slug, key, id } = await newOrg(t);
      await follow(slug, key);
      const audit = (await auditEntries(t, id)).length;
      t.clock.advance(HOUR);
      const r = await refresh(slug, key);
      assert.equal(r.body.outcome, 'unchanged');
      assert.equal((await auditEntries(t, id)).length, audit);
      assert.equal(r.body.source.fetchedAt, new Date(t.clock.now()).toISOString());
    });

    it('a failed refresh keeps the last good copy, is audited, counted in metrics and retried with backoff', async () => {
      const { slug, key, id } = await newOrg(t);
      await follow(slug, key);
      const good = await snapshot(t, id);
      for (const [status, body, pattern] of [
        [500, 'oops', /HTTP 500/],
        [200, '<not metadata', /not acceptable XML/],
        [200, document({ certs: [idp.certPem, next.certPem, generateTestKeyPair().certPem, generateTestKeyPair().certPem] }), /at most 3/],
        [200, document().replace(/<md:KeyDescriptor[\s\S]*<\/md:KeyDescriptor>/, ''), /no signing certificate/],
        [200, document({ ssoUrl: 'http://insecure.example/sso' }), /ssoLoginUrl/],
      ] as const) {
        server.status = status;
        server.body = body;
        const r = await refresh(slug, key);
        assert.equal(r.body.outcome, 'failed');
        assert.match(r.body.error, pattern);
      }
      const after = await snapshot(t, id);
      assert.deepEqual(after.certificates, good.certificates, 'certificates kept');
      assert.deepEqual(after.sso, good.sso, 'configuration kept');
      assert.equal(after.source[0]!.document, good.source[0]!.document, 'last good copy kept');

      const source = await sourceOf(slug, key);
      assert.equal(source.consecutiveFailures, 5);
      assert.match(source.lastError, /ssoLoginUrl/);
      // Backoff: 5 min doubling per failure (5th: 80 min).
      assert.equal(source.nextRefreshAt, new Date(t.clock.now() + 80 * 60_000).toISOString());

      const failures = (await auditEntries(t, id)).filter((a) => a.action === 'sso.metadata.refreshFailed');
      assert.equal(failures.length, 5);
      assert.equal(JSON.parse(failures[0]!.details).url, server.url());
      const metrics = (await request(t.app).get('/metrics')).text;
      assert.match(metrics, /fedbridge_metadata_refresh_total\{reason="admin",outcome="failed"\} \d+/);
      assert.match(metrics, new RegExp(`fedbridge_metadata_refresh_consecutive_failures\\{org="${slug.replace(/\./g, '\\.')}"\\} 5`));

      // Recovery resets the count.
      server.status = 200;
      server.body = document({ certs: [idp.certPem, next.certPem] });
      assert.equal((await refresh(slug, key)).body.outcome, 'updated');
      assert.equal((await sourceOf(slug, key)).consecutiveFailures, 0);
    });

    it('the schedule refreshes due orgs only, each once, after the clock passes nextRefreshAt', async () => {
      const { slug, key } = await newOrg(t);
      server.body = document({ cacheDuration: 'PT1H' });
      await follow(slug, key);
      const scheduler = startMetadataRefreshScheduler(t.ctx, { intervalMs: 3_600_000 });
      try {
        server.hits = 0;
        await scheduler.runDue();
        assert.equal(server.hits, 0, 'not due yet');
        t.clock.advance(HOUR + 1);
        server.body = document({ cacheDuration: 'PT1H', certs: [idp.certPem, next.certPem] });
        await Promise.all([scheduler.runDue(), scheduler.runDue()]);
        assert.ok(server.hits >= 1);
        const hits = server.hits;
        assert.equal((await certsOf(slug, key)).length, 2, 'the rotation reached the org without an admin');
        await scheduler.runDue();
        assert.equal(server.hits, hits, 'rescheduled an hour later, not fetched again now');
        assert.equal((await sourceOf(slug, key)).nextRefreshAt, new Date(t.clock.now() + HOUR).toISOString());
      } finally {
        scheduler.stop();
      }
    });

    it('a signature from an unknown key refreshes at once, at most once per five minutes per org', async () => {
      const { slug, key } = await newOrg(t);
      await follow(slug, key);
      const org = (await findOrgBySlug(t.ctx.database.db, slug))!;
      server.body = document({ certs: [idp.certPem, next.certPem] });
      const first = await refreshMetadataOnUnknownKey(t.ctx, org);
      assert.deepEqual(first, { outcome: 'updated', certificatesChanged: true });
      server.hits = 0;
      const second = await refreshMetadataOnUnknownKey(t.ctx, org);
      assert.equal(second.outcome, 'rate-limited');
      assert.equal(server.hits, 0);
      t.clock.advance(UNKNOWN_KEY_REFRESH_INTERVAL_MS);
      assert.equal((await refreshMetadataOnUnknownKey(t.ctx, org)).outcome, 'unchanged');

      const uploaded = await newOrg(t);
      const plain = (await findOrgBySlug(t.ctx.database.db, uploaded.slug))!;
      assert.equal((await refreshMetadataOnUnknownKey(t.ctx, plain)).outcome, 'not-following');
    });

    it('more than three signing certificates at a followed URL: 409 and nothing changed', async () => {
      const { slug, key, id } = await newOrg(t);
      const before = await snapshot(t, id);
      server.body = document({ certs: [idp.certPem, next.certPem, generateTestKeyPair().certPem, generateTestKeyPair().certPem] });
      const r = await request(t.app).post(`/api/v1/orgs/${slug}/sso/metadata`).set(auth(key)).send({ url: server.url() });
      assert.equal(r.status, 409);
      assert.match(r.body.detail, /at most 3/);
      assert.deepEqual(await snapshot(t, id), before);
    });

    it('stopping to follow keeps configuration and certificates; a document upload stops following too', async () => {
      const { slug, key, id } = await newOrg(t);
      await follow(slug, key);
      const stopped = await request(t.app).put(`/api/v1/orgs/${slug}/sso/metadata/source`).set(auth(key)).send({ following: false });
      assert.equal(stopped.status, 200);
      assert.equal(stopped.body.following, false);
      assert.equal(stopped.body.nextRefreshAt, null);
      assert.equal((await certsOf(slug, key)).length, 1);
      assert.equal((await refresh(slug, key)).status, 409);
      assert.equal((await auditEntries(t, id)).at(-1)!.action, 'sso.metadata.source');

      await follow(slug, key);
      await request(t.app).post(`/api/v1/orgs/${slug}/sso/metadata`).set(auth(key)).set('Content-Type', 'text/xml').send(document()).expect(200);
      assert.equal((await sourceOf(slug, key)).following, false);
    });
  });
}
