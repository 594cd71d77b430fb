/**
 * The pages of single logout (R-SAML-9) when there is nowhere else to send the browser: "you
 * have signed out", and the confirmation asked before a GET ends a session (a link on another
 * site must not sign a user out: only a same-site POST does). Fixed markup; the few values are
 * HTML-escaped; no script.
 */
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (v: string) => v.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

const STYLE = `body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; }
main { max-width: 36rem; margin: 10vh auto; background: #fff; padding: 2rem 2.25rem; border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.12); }
h1 { font-size: 1.35rem; margin: 0 0 1rem; } p { line-height: 1.5; } button { font: inherit; padding: .5rem 1.25rem; }`;

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
${body}
</main>
</body>
</html>
`;
}

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
