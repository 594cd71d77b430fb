/**
 * The SP metadata fedbridge publishes for an organisation (R-SAML-8), in the element order of
 * saml-schema-metadata-2.0.xsd: EntityDescriptor(entityID, ID) › [ds:Signature, added by the
 * signer as first child] › SPSSODescriptor(AuthnRequestsSigned, WantAssertionsSigned="true",
 * protocolSupportEnumeration) › KeyDescriptor* › SingleLogoutService* › NameIDFormat* ›
 * AssertionConsumerService+.
 *
 * Every service certificate is published for signing AND encryption, the active one first:
 * during a key rollover the IdP can load the next certificate before it is switched on, and
 * an IdP still encrypting to the previous one keeps working (decryption tries every key).
 * The encryption KeyDescriptors list the algorithms our decryption accepts, strongest first,
 * so IdPs that choose from metadata (Shibboleth) pick AES-GCM and RSA-OAEP.
 * Pure: no I/O; signing is `signEnveloped` (post-binding.ts).
 */
import { DOMImplementation, XMLSerializer } from '@xmldom/xmldom';
import type { Document, Element } from '@xmldom/xmldom';
import { BINDING, NS, XENC_ALG } from '../namespaces.js';

export interface SpMetadataInput {
  entityId: string;
  /** The EntityDescriptor ID (what a signature references). */
  id: string;
  acsUrl: string;
  sloUrl: string;
  authnRequestsSigned: boolean;
  /** NameIDFormat URN. */
  nameIdFormat: string;
  /** PEM certificates to publish, active first. */
  certificates: readonly string[];
  /** Optional validUntil (epoch ms). */
  validUntil?: number | undefined;
}

/** What our decryption accepts (src/saml/xml-decryption.ts), in order of preference. */
export const ADVERTISED_ENCRYPTION_METHODS: readonly string[] = [
  XENC_ALG.aes256Gcm,
  XENC_ALG.aes128Gcm,
  XENC_ALG.aes256Cbc,
  XENC_ALG.aes128Cbc,
  XENC_ALG.rsaOaep,
  XENC_ALG.rsaOaepMgf1p,
];

function pemBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}

function child(doc: Document, parent: Element, ns: string, qname: string, text?: string): Element {
  const el = doc.createElementNS(ns, qname);
  if (text !== undefined) el.appendChild(doc.createTextNode(text));
  parent.appendChild(el);
  return el;
}

function keyDescriptor(doc: Document, parent: Element, use: 'signing' | 'encryption', pem: string): void {
  const descriptor = child(doc, parent, NS.md, 'md:KeyDescriptor');
  descriptor.setAttribute('use', use);
  const keyInfo = child(doc, descriptor, NS.ds, 'ds:KeyInfo');
  const data = child(doc, keyInfo, NS.ds, 'ds:X509Data');
  child(doc, data, NS.ds, 'ds:X509Certificate', pemBody(pem));
  if (use === 'encryption') {
    for (const algorithm of ADVERTISED_ENCRYPTION_METHODS) {
      child(doc, descriptor, NS.md, 'md:EncryptionMethod').setAttribute('Algorithm', algorithm);
    }
  }
}

/** The unsigned SP metadata document (sign it with signEnveloped for `?signed=true`). */
export function buildSpMetadata(input: SpMetadataInput): string {
  const doc = new DOMImplementation().createDocument(NS.md, 'md:EntityDescriptor', null);
  const root = doc.documentElement!;
  root.setAttributeNS(NS.xmlns, 'xmlns:md', NS.md);
  root.setAttributeNS(NS.xmlns, 'xmlns:ds', NS.ds);
  root.setAttribute('entityID', input.entityId);
  root.setAttribute('ID', input.id);
  if (input.validUntil !== undefined) root.setAttribute('validUntil', new Date(input.validUntil).toISOString());

  const sp = child(doc, root, NS.md, 'md:SPSSODescriptor');
  sp.setAttribute('AuthnRequestsSigned', String(input.authnRequestsSigned));
  sp.setAttribute('WantAssertionsSigned', 'true');
  sp.setAttribute('protocolSupportEnumeration', NS.samlp);

  for (const pem of input.certificates) {
    keyDescriptor(doc, sp, 'signing', pem);
    keyDescriptor(doc, sp, 'encryption', pem);
  }
  for (const binding of [BINDING.httpRedirect, BINDING.httpPost]) {
    const slo = child(doc, sp, NS.md, 'md:SingleLogoutService');
    slo.setAttribute('Binding', binding);
    slo.setAttribute('Location', input.sloUrl);
  }
  child(doc, sp, NS.md, 'md:NameIDFormat', input.nameIdFormat);
  const acs = child(doc, sp, NS.md, 'md:AssertionConsumerService');
  acs.setAttribute('Binding', BINDING.httpPost);
  acs.setAttribute('Location', input.acsUrl);
  acs.setAttribute('index', '0');
  acs.setAttribute('isDefault', 'true');

  return new XMLSerializer().serializeToString(doc);
}
