/**
 * RFC 7522 SAML 2.0 bearer assertion grant (R-OAUTH-3): a client presents an assertion its
 * user's IdP issued for us and gets tokens for that user, without a browser.
 *
 * The assertion is verified as the ACS verifies one (R-SAML-3): strict parse (no DOCTYPE),
 * signature by the org's pinned certificates through the one signed-content verifier
 * (everything after is read from the signed content only), Issuer, NameID and its format,
 * bearer SubjectConfirmation whose Recipient is the token endpoint or the SP entity id,
 * validity window with the org's skew, Audience, AuthnStatement / AuthnContextClassRef, and
 * single use of its ID (the ACS's replay cache). The account is looked up as R-ACC-2 does
 * (ssoid attribute, else NameID) and must exist and be active: this grant never provisions.
 *
 * The checks are saml-bearer-assertion.ts's, not the ACS pipeline's (src/saml/acs/): RFC 7522
 * accepts the token endpoint OR the SP entity id as Recipient and as Audience, independently,
 * where the ACS steps compare with one ACS URL and one entity id. TODO: let
 * check-subject-confirmation / check-audience take a set of accepted values, then run those
 * steps here (and gain EncryptedID support through read-subject).
 */
import type { KeyObject } from 'node:crypto';
import { errors, type KoaContextWithOIDC, type Provider } from 'oidc-provider';
import type { AppContext } from '../app-context.js';
import { effectiveSsoConfig, type SsoConfig } from '../saml/sso-config.js';
import { SsoError } from '../saml/sso-error.js';
import { findAccountByNameId, findAccountBySsoId } from '../store/accounts.js';
import { listCertificates } from '../store/certificates.js';
import { findOrgIdsByIdpEntityId } from '../store/oauth-subjects.js';
import { findOrgById, type Org } from '../store/orgs.js';
import { rememberAssertionId } from '../store/replay-cache.js';
import { findSsoConfig } from '../store/sso-configs.js';
import { getPinnedKey } from '../xml/pinned-keys.js';
import { verifySignedElement, type VerifiedContent } from '../xml/signed-content-verifier.js';
import { loadOAuthAccount } from './account-claims.js';
import { SAML2_BEARER_GRANT } from './client-registry.js';
import { invalidGrant, issueTokensForGrant } from './grant-tokens.js';
import { checkBearerAssertion, parseBearerAssertion } from './saml-bearer-assertion.js';

export const SAML_BEARER_PARAMETERS = ['assertion', 'scope', 'resource'] as const;

/** Attribute names that carry the IdP's stable id (R-ACC-2), compared case-insensitively. */
const SSOID_ATTRIBUTE = 'ssoid';

interface Candidate {
  org: Org;
  config: SsoConfig;
  keys: KeyObject[];
}

async function candidatesFor(app: AppContext, issuer: string): Promise<Candidate[]> {
  const db = app.database.db;
  const out: Candidate[] = [];
  for (const orgId of await findOrgIdsByIdpEntityId(db, app.database.dialect, issuer)) {
    const org = await findOrgById(db, orgId);
    const stored = await findSsoConfig(db, orgId);
    if (!org?.ssoEnabled || !stored) continue;
    const config = effectiveSsoConfig(stored.config, { publicUrl: app.config.publicUrl });
    if (config.protocol !== 'saml2' || config.idpEntityId !== issuer) continue;
    // R-CERT-2: the active certificate; all of them during a rollover (trustAllCertificates).
    const certs = (await listCertificates(db, 'org', orgId)).filter((c) => c.active || config.trustAllCertificates);
    out.push({ org, config, keys: certs.map((c) => getPinnedKey(c.certificatePem)) });
  }
  return out;
}

/** Refusals carry the SSO code so a client developer can tell what to fix; the detail is logged. */
function refused(app: AppContext, err: SsoError): never {
  app.logger.info({ code: err.code, reason: err.reason }, 'SAML bearer assertion refused');
  throw invalidGrant(`assertion refused (${err.code})`);
}

export function registerSamlBearerGrant(app: AppContext, provider: Provider, signing: () => { alg: string; kid: string }): void {
  const tokenEndpoint = `${app.config.publicUrl}/oauth/token`;

  provider.registerGrantType(
    SAML2_BEARER_GRANT,
    async (ctx: KoaContextWithOIDC) => {
      const param = (ctx.oidc.params as Record<string, string | undefined>).assertion;
      if (!param) throw new errors.InvalidRequest('missing required parameter assertion');
      try {
        const parsed = parseBearerAssertion(param);
        const candidates = await candidatesFor(app, parsed.unverifiedIssuer);
        if (candidates.length === 0) throw new SsoError('SSO_ISSUER', 'no SAML-enabled organisation trusts this Issuer');

        let chosen: Candidate | undefined;
        let verified: VerifiedContent | undefined;
        let lastError: unknown;
        for (const c of candidates) {
          try {
            verified = verifySignedElement(parsed.assertion, c.keys, { allowSha1: c.config.allowSha1 });
            chosen = c;
            break;
          } catch (err) {
            lastError = err;
          }
        }
        if (!chosen || !verified) throw lastError instanceof SsoError ? lastError : new SsoError('SSO_SIGNATURE', 'assertion signature not verified');

        const now = app.clock.now();
        const skewMs = chosen.config.clockSkewSeconds * 1000;
        const facts = checkBearerAssertion(verified.element, {
          idpEntityId: chosen.config.idpEntityId ?? '',
          audiences: [tokenEndpoint, chosen.config.spEntityId].filter((v): v is string => typeof v === 'string' && v !== ''),
          nameIdFormat: chosen.config.nameIdFormat,
          authnContextClassRef: chosen.config.authnContextClassRef ?? null,
          now,
          skewMs,
        });

        const firstUse = await rememberAssertionId(app.database.db, {
          orgId: chosen.org.id,
          assertionId: facts.assertionId,
          expiresAt: facts.notOnOrAfter + skewMs,
          now,
        });
        if (!firstUse) throw new SsoError('SSO_REPLAY', `assertion ${facts.assertionId} was already used`);

        const ssoIdEntry = Object.entries(facts.attributes).find(([name]) => name.toLowerCase() === SSOID_ATTRIBUTE);
        const found = ssoIdEntry
          ? await findAccountBySsoId(app.database.db, chosen.org.id, ssoIdEntry[1])
          : await findAccountByNameId(app.database.db, chosen.org.id, facts.nameId);
        if (!found) throw new SsoError('SSO_NO_ACCOUNT', 'no account for this subject (the bearer grant does not create accounts)');
        const account = await loadOAuthAccount(app, found.id);
        if (!account) throw new SsoError('SSO_ACCOUNT_INACTIVE', 'the account is deactivated');

        await issueTokensForGrant(app, provider, ctx, { account, gty: SAML2_BEARER_GRANT, signing: signing() });
      } catch (err) {
        if (err instanceof SsoError) refused(app, err);
        throw err;
      }
    },
    SAML_BEARER_PARAMETERS,
  );
}
