/**
 * SAML 2.0 HTTP-POST binding (saml-bindings-2.0-os §3.5): an enveloped XML signature on the
 * message itself, and the auto-submitting HTML form that carries it through the browser.
 */
import { type KeyObject, createPrivateKey } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { childElements, isElementNamed } from '../xml/dom.js';
import { DSIG_ALG, NS } from './namespaces.js';

export interface SignEnvelopedOptions {
  /** Private key (KeyObject or PEM) of the active service certificate. */
  key: KeyObject | string;
  /** Certificate PEM, published in the Signature's KeyInfo. */
  cert: string;
  /** Name of the ID attribute the Reference points at; SAML uses `ID`. */
  idAttribute?: 'ID';
  /** Default RSA-SHA256 (R-SAML-2). */
  signatureAlgorithm?: typeof DSIG_ALG.rsaSha256 | typeof DSIG_ALG.rsaSha512;
  /** Default SHA-256. */
  digestAlgorithm?: typeof DSIG_ALG.sha256 | typeof DSIG_ALG.sha512;
}

/**
 * Signs the root element of a SAML protocol message (AuthnRequest, LogoutRequest,
 * LogoutResponse) with an enveloped signature: one Reference to `#<root ID>`, transforms
 * enveloped-signature + exclusive C14N, placed right after the root's `saml:Issuer` as the
 * schema orders it (a Signature elsewhere fails schema-validating IdPs).
 */
export function signEnveloped(xml: string, options: SignEnvelopedOptions): string {
  const idAttribute = options.idAttribute ?? 'ID';
  // Only to check the message before signing; xml-crypto parses the string itself.
  let doc;
  try {
    doc = new DOMParser({
      onError: (level, message) => {
        if (level !== 'warning') throw new Error(message);
      },
    }).parseFromString(xml, 'text/xml');
  } catch (error) {
    throw new TypeError(`cannot sign malformed XML: ${error instanceof Error ? error.message : String(error)}`);
  }
  const root = doc.documentElement;
  if (!root) throw new TypeError('cannot sign: no root element');
  const id = root.getAttribute(idAttribute);
  // Without an ID xml-crypto would invent an `Id` attribute, which SAML does not define.
  if (!id) throw new TypeError(`cannot sign: root element has no ${idAttribute} attribute`);

  // Issuer, when present, is the first child element of every SAML protocol message.
  const hasIssuer = isElementNamed(childElements(root)[0], NS.saml, 'Issuer');

  const privateKey = typeof options.key === 'string' ? createPrivateKey(options.key) : options.key;
  const signer = new SignedXml({
    privateKey,
    publicCert: options.cert,
    idAttribute,
    signatureAlgorithm: options.signatureAlgorithm ?? DSIG_ALG.rsaSha256,
    canonicalizationAlgorithm: DSIG_ALG.excC14n,
  });
  signer.addReference({
    xpath: '/*',
    transforms: [DSIG_ALG.envelopedSignature, DSIG_ALG.excC14n],
    digestAlgorithm: options.digestAlgorithm ?? DSIG_ALG.sha256,
  });
  signer.computeSignature(xml, {
    prefix: 'ds',
    location: hasIssuer
      ? { reference: `/*/*[local-name()='Issuer' and namespace-uri()='${NS.saml}']`, action: 'after' }
      : { reference: '/*', action: 'prepend' },
  });
  return signer.getSignedXml();
}

export interface PostFormInput {
  /** Where the browser posts the form (the IdP's endpoint). Must be http(s). */
  endpoint: string;
  field: 'SAMLRequest' | 'SAMLResponse';
  /** The base64-encoded message. */
  value: string;
  relayState?: string | undefined;
  /** CSP nonce for the auto-submit script (`script-src 'nonce-…'`). */
  nonce?: string | undefined;
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/**
 * An HTML page whose form posts the message to `endpoint` on load. Every value is
 * HTML-escaped; the script carries the CSP nonce and contains no data (so it needs no
 * escaping); without JavaScript a Continue button submits the form. The page's CSP must
 * allow `form-action` to the endpoint's origin.
 */
export function renderPostForm(input: PostFormInput): string {
  const url = new URL(input.endpoint);
  // Anything but http(s) here (javascript:, data:) would run or leak on submit.
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError('POST endpoint must be an http(s) URL');
  if (input.nonce !== undefined && !/^[A-Za-z0-9+/=_-]+$/.test(input.nonce)) throw new TypeError('nonce must be base64');
  const nonce = input.nonce !== undefined ? ` nonce="${escapeHtml(input.nonce)}"` : '';
  const relayState =
    input.relayState !== undefined
      ? `\n<input type="hidden" name="RelayState" value="${escapeHtml(input.relayState)}">`
      : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<title>Signing in…</title>
</head>
<body>
<form id="saml-post" method="post" action="${escapeHtml(input.endpoint)}">
<input type="hidden" name="${escapeHtml(input.field)}" value="${escapeHtml(input.value)}">${relayState}
<noscript>
<p>JavaScript is turned off in your browser. Press Continue to go on signing in.</p>
<button type="submit">Continue</button>
</noscript>
</form>
<script${nonce}>document.getElementById('saml-post').submit();</script>
</body>
</html>
`;
}
