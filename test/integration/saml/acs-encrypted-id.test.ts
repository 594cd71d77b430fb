/**
 * R-SAML-3 sixth rule over HTTP: a Subject whose NameID comes as a saml:EncryptedID. Encrypted
 * by the test IdP (xml-encryption) to the service certificate the org exported, it signs in
 * with the decrypted NameID — the session and the new account are keyed on the plaintext
 * value, which never appears in the posted message. Encrypted to any other certificate, it is
 * refused with SSO_DECRYPT and leaves nothing behind.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { testEngines } from '../../support/databases.js';
import { assertRefused, assertSignedIn, startSamlScenario, type SamlScenario } from '../../support/saml-scenario.js';
import { generateTestKeyPair } from '../../support/test-idp.js';

for (const engine of testEngines()) {
  describe(`ACS with an EncryptedID NameID, over HTTP [${engine.name}]`, function () {
    this.timeout(60_000);
    let s: SamlScenario;

    before(async () => {
      s = await startSamlScenario({ engine });
    });
    after(() => s?.close());

    for (const [how, signing] of [
      ['assertion signed', { signAssertion: true, signResponse: false }],
      ['only the Response signed', { signAssertion: false, signResponse: true }],
    ] as const) {
      it(`signs in with the decrypted NameID when encrypted to our exported service certificate (${how})`, async () => {
        // An opaque NameID (not also the e-mail attribute), so its absence from the message means something.
        const u = { ...s.user(), nameId: `pid-${randomBytes(8).toString('hex')}` };
        const r = await s.signIn({ ...u, ...signing, encryptNameIdTo: { certPem: s.serviceCertPem } });
        assert.match(r.built.xml, /<saml:EncryptedID\b/, 'the Subject carries an EncryptedID');
        assert.ok(!r.built.xml.includes(u.nameId), 'the NameID is not in the message in clear');
        const { account } = await assertSignedIn(s, r, { nameId: u.nameId });
        assert.equal(r.after.accounts, r.before.accounts + 1, 'auto account creation made the account');
        assert.equal(account.email, u.attributes.email);
      });
    }

    it('refuses an EncryptedID encrypted to another certificate [SSO_DECRYPT], creating nothing', async () => {
      const stranger = generateTestKeyPair({ commonName: 'not-our-sp' });
      const u = s.user();
      assertRefused(await s.signIn({ ...u, encryptNameIdTo: { certPem: stranger.certPem } }), 'SSO_DECRYPT');
      // Control: the same user with the NameID encrypted to us signs in.
      await assertSignedIn(s, await s.signIn({ ...u, encryptNameIdTo: { certPem: s.serviceCertPem } }), { nameId: u.nameId });
    });
  });
}
