/**
 * Home-realm discovery for the OAuth login interaction (R-OAUTH-2): which organisation's SSO
 * signs this user in — from `org` (a slug), else the domain of a `login_hint` e-mail, else
 * the e-mail the user types on the page rendered here. Pure: lookups are the caller's.
 */

/** A plain e-mail address (what the page and login_hint accept); the domain is returned lower-cased. */
export function emailDomain(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const email = value.trim();
  if (email.length > 254) return undefined;
  const m = /^[^\s@<>()"',;:\\]+@([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+)$/.exec(email);
  return m ? m[1]!.toLowerCase() : undefined;
}

export type RealmHint = { kind: 'org'; slug: string } | { kind: 'domain'; domain: string } | { kind: 'none' };

/** What the authorization request says about the user's organisation; `org` wins over login_hint. */
export function realmHint(params: { org?: unknown; login_hint?: unknown }): RealmHint {
  if (typeof params.org === 'string' && params.org.trim() !== '') return { kind: 'org', slug: params.org.trim().toLowerCase() };
  const domain = emailDomain(params.login_hint);
  if (domain) return { kind: 'domain', domain };
  return { kind: 'none' };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface RealmPage {
  /** Where the form posts (the interaction's discover route). */
  action: string;
  csrfToken: string;
  clientName: string;
  email?: string;
  /** A sentence saying why the last attempt did not lead anywhere. */
  problem?: string;
}

/** The "which organisation are you from?" page: one e-mail field, CSRF-protected, no script. */
export function renderRealmPage(p: RealmPage): string {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign in</title></head>
<body>
<main>
<h1>Sign in to ${escapeHtml(p.clientName)}</h1>
${p.problem ? `<p role="alert">${escapeHtml(p.problem)}</p>` : ''}
<form method="post" action="${escapeHtml(p.action)}">
<input type="hidden" name="csrf" value="${escapeHtml(p.csrfToken)}">
<label for="email">Work e-mail address</label>
<input id="email" name="email" type="email" autocomplete="email" required autofocus value="${escapeHtml(p.email ?? '')}">
<button type="submit" name="action" value="continue">Continue</button>
<button type="submit" name="action" value="cancel" formnovalidate>Cancel</button>
</form>
<p>You will be sent to your organisation's sign-in page.</p>
</main>
</body>
</html>`;
}

/** A page for an interaction that cannot go on (expired, cookie missing…). */
export function renderInteractionProblem(message: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign-in problem</title></head>
<body><main><h1>Sign-in could not continue</h1><p>${escapeHtml(message)}</p><p>Start the sign-in again from your application.</p></main></body></html>`;
}
