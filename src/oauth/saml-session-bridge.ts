/**
 * The SAML sign-in as seen from the token service: the fedbridge_session cookie (R-SAML-6)
 * names a server-side session; it counts only while the session is live AND its account is
 * active in the session's org. Everything OAuth does for a browser or a cookie exchange
 * starts from here.
 */
import type { AppContext } from '../app-context.js';
import { hashSessionId, isSessionIdShape } from '../saml/session-cookie.js';
import { findTokenSubject } from '../store/oauth-subjects.js';
import { findActiveSession, type SamlSession } from '../store/saml-sessions.js';

export { SESSION_COOKIE_NAME } from '../saml/session-cookie.js';

/** The live session behind a cookie value, or undefined (absent, malformed, unknown, expired, revoked, inactive account). */
export async function liveSamlSession(ctx: AppContext, cookieValue: unknown): Promise<SamlSession | undefined> {
  if (!isSessionIdShape(cookieValue)) return undefined;
  const session = await findActiveSession(ctx.database.db, hashSessionId(cookieValue), ctx.clock.now());
  if (!session) return undefined;
  const subject = await findTokenSubject(ctx.database.db, session.accountId);
  if (!subject?.active || subject.orgId !== session.orgId) return undefined;
  return session;
}
