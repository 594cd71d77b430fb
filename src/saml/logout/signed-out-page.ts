/**
 * The pages of single logout (R-SAML-9) when there is nowhere else to send the browser: "you
 * have signed out", and the confirmation asked before a GET ends a session (a link on another
 * site must not sign a user out: only a same-site POST does). Fixed markup in the shared layout;
 * the few values are HTML-escaped; no script.
 */
import { escapeHtml, renderPage as page } from '../page-template.js';

export function renderSignedOutPage(opts: { partial?: boolean } = {}): string {
  const note = opts.partial
    ? '<p id="partial">Your identity provider reported that it could not end every session; close your browser to be sure.</p>'
    : '';
  return page('You have signed out', `<p id="signed-out">Your session has ended.</p>\n${note}`);
}

export function renderSignOutConfirmPage(action: string): string {
  return page(
    'Sign out?',
    `<form method="post" action="${escapeHtml(action)}">\n<p>End your session?</p>\n<button type="submit">Sign out</button>\n</form>`,
  );
}
