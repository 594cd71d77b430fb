/**
 * The whole ACS pipeline (src/saml/acs/index.ts) on Responses from the TestIdp: what it hands
 * the flow on success, and that its writes happen last and together — a Response refused by
 * any rule consumes neither its AuthnRequest nor its assertion id. Also holds the index to its
 * promise: every listed step is one file that opens by naming the R-SAML rule it enforces.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { ManualClock } from '../../../../src/clock.js';
import { ACS_STEPS, runAcsPipeline } from '../../../../src/saml/acs/index.js';
import type { AcsSettings } from '../../../../src/saml/acs/context.js';
import { NAME_ID_FORMAT_URN } from '../../../../src/saml/name-id-formats.js';
import { AUTHN_CONTEXT } from '../../../../src/saml/namespaces.js';
import { SsoError, type SsoErrorCode } from '../../../../src/saml/sso-error.js';
import { TestIdp, generateTestKeyPair, type BuildResponseOptions } from '../../../support/test-idp.js';
import { FakeAcsBackend, IDP_ENTITY_ID, MINUTE, NOW, responseOptions, settings } from './acs-fixtures.js';

const idp = new TestIdp({ entityId: IDP_ENTITY_ID });
const sp = generateTestKeyPair({ commonName: 'sp' });

/** The shared Response options plus what the flow reads: NameID format, session and attributes. */
function options(extra: Partial<BuildResponseOptions> = {}): BuildResponseOptions {
  return responseOptions({
    nameIdFormat: 'emailAddress',
    sessionIndex: '_sess',
    sessionNotOnOrAfter: NOW + 60 * MINUTE,
    attributes: { email: 'jane@acme.example', groups: ['a', 'b'] },
    ...extra,
  });
}

function backendWithRequest(): FakeAcsBackend {
  const backend = new FakeAcsBackend([idp.keyPair.publicKey], [sp.privateKey]);
  backend.addRequest('_req1', 'https://app.acme.example/after');
  return backend;
}

function run(base64: string, backend: FakeAcsBackend, overrides: Partial<AcsSettings> = {}, clock = new ManualClock(NOW)) {
  return runAcsPipeline({ samlResponse: base64, settings: settings(overrides), deps: backend.deps(), clock });
}

async function refused(code: SsoErrorCode, promise: Promise<unknown>): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof SsoError, String(err));
    assert.equal(err.code, code, err.reason);
    return true;
  });
}

describe('ACS pipeline', function () {
  this.timeout(30_000);

  for (const [name, extra] of [
    ['assertion signed', {}],
    ['response signed', { signAssertion: false, signResponse: true }],
    ['both signed', { signResponse: true }],
    ['assertion signed, then encrypted', { encryptTo: { certPem: sp.certPem } }],
    ['response signed around an encrypted assertion', { signAssertion: false, signResponse: true, encryptTo: { certPem: sp.certPem } }],
  ] as Array<[string, Partial<BuildResponseOptions>]>) {
    it(`signs in: ${name}`, async () => {
      const backend = backendWithRequest();
      const built = await idp.buildResponse(options(extra));
      const outcome = await run(built.base64, backend, { nameIdFormat: 'emailAddress' });
      assert.deepEqual(outcome, {
        assertionId: built.assertionId,
        issuer: IDP_ENTITY_ID,
        subject: { nameId: 'jane@acme.example', format: NAME_ID_FORMAT_URN.emailAddress, nameQualifier: null, spNameQualifier: null, encrypted: false },
        authn: { authnContextClassRef: AUTHN_CONTEXT.passwordProtectedTransport, sessionIndex: '_sess', sessionNotOnOrAfter: NOW + 60 * MINUTE },
        attributes: [
          { name: 'email', values: ['jane@acme.example'] },
          { name: 'groups', values: ['a', 'b'] },
        ],
        solicited: { requestId: '_req1', target: 'https://app.acme.example/after' },
        signedBy: { response: extra.signResponse ?? false, assertion: extra.signAssertion ?? true },
      });
      assert.equal(backend.requests.get('_req1')!.consumed, true);
      assert.ok(backend.assertionIds.has(built.assertionId));
    });
  }

  it('signs in IdP-initiated when enabled (no request consumed)', async () => {
    const backend = backendWithRequest();
    const built = await idp.buildResponse(options({ inResponseTo: undefined }));
    const outcome = await run(built.base64, backend, { idpInitiated: true });
    assert.equal(outcome.solicited, null);
    assert.equal(backend.requests.get('_req1')!.consumed, false);
  });

  it('a Response refused by a check writes nothing', async () => {
    const backend = backendWithRequest();
    const built = await idp.buildResponse(options({ audience: 'https://other-sp.example' }));
    await refused('SSO_AUDIENCE', run(built.base64, backend));
    assert.equal(backend.requests.get('_req1')!.consumed, false, 'the AuthnRequest is still usable');
    assert.equal(backend.assertionIds.size, 0);
  });

  it('a replayed assertion in a Response to a new request: SSO_REPLAY, and the new request stays usable', async () => {
    const backend = backendWithRequest();
    const first = await idp.buildResponse(options());
    await run(first.base64, backend);
    backend.addRequest('_req2');
    const again = await idp.buildResponse(options({ inResponseTo: '_req2', assertionId: first.assertionId }));
    await refused('SSO_REPLAY', run(again.base64, backend));
    assert.equal(backend.requests.get('_req2')!.consumed, false);
  });

  it('a foreign or used request id: SSO_SUBJECT_CONFIRMATION, and the assertion id recorded on the way is rolled back', async () => {
    const backend = backendWithRequest();
    const foreign = await idp.buildResponse(options({ inResponseTo: '_not_ours' }));
    await refused('SSO_SUBJECT_CONFIRMATION', run(foreign.base64, backend));
    assert.equal(backend.assertionIds.has(foreign.assertionId), false);
    // Posted again it is refused for the same reason, not as a replay.
    await refused('SSO_SUBJECT_CONFIRMATION', run(foreign.base64, backend));
  });

  it('the same Response twice: signed in once, then SSO_REPLAY', async () => {
    const backend = backendWithRequest();
    const built = await idp.buildResponse(options({ inResponseTo: undefined }));
    await run(built.base64, backend, { idpInitiated: true });
    await refused('SSO_REPLAY', run(built.base64, backend, { idpInitiated: true }));
  });

  it('an expired request is refused even though the assertion is fresh', async () => {
    const backend = backendWithRequest();
    const clock = new ManualClock(NOW + 10 * MINUTE);
    const built = await idp.buildResponse(options({ now: clock.now() }));
    await refused('SSO_SUBJECT_CONFIRMATION', run(built.base64, backend, {}, clock));
  });

  it('lists every step as one file that opens by naming the R-SAML rule it enforces', () => {
    const dir = new URL('../../../../src/saml/acs/', import.meta.url);
    const files = new Set(readdirSync(dir));
    const index = readFileSync(new URL('index.ts', dir), 'utf8');
    let last = -1;
    for (const step of ACS_STEPS) {
      assert.ok(files.has(`${step}.ts`), `src/saml/acs/${step}.ts exists`);
      const source = readFileSync(new URL(`${step}.ts`, dir), 'utf8');
      assert.match(source.slice(0, 400), /^\/\*\*[\s\S]*R-SAML-\d+/, `${step}.ts opens with the rule it enforces`);
      // The index runs the steps in the listed order.
      const fn = step.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
      const at = index.indexOf(`${fn}(`, index.indexOf('export async function runAcsPipeline'));
      assert.ok(at > last, `${fn} runs after the step before it`);
      last = at;
    }
  });
});
