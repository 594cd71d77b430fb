/**
 * A test identity provider: makes key pairs and self-signed certificates at test time and
 * builds SAML 2.0 Responses with full control over every field, signature and encryption,
 * so ACS, OAuth and interop tests can produce valid messages and every kind of broken one.
 *
 * Signing is xml-crypto's SignedXml; encryption is xml-encryption's `encrypt` (the library
 * node-saml and samlify IdPs use), so the bridge's own decryption is checked against an
 * implementation it does not share code with. All times are passed in (ms since the epoch),
 * from the test's Clock — nothing here reads the system time except certificate validity.
 */
import { execFileSync } from 'node:child_process';
import {
  type KeyObject,
  X509Certificate,
  createPrivateKey,
  generateKeyPairSync,
  publicEncrypt,
  constants,
  randomBytes,
  sign as cryptoSign,
  createHash,
} from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DOMImplementation, DOMParser, XMLSerializer } from '@xmldom/xmldom';
import type { Document, Element } from '@xmldom/xmldom';
import forge from 'node-forge';
import { SignedXml } from 'xml-crypto';
import * as xmlenc from 'xml-encryption';
import { newSamlId, toSamlInstant } from '../../src/saml/authn-request.js';
import {
  ATTRNAME_FORMAT,
  AUTHN_CONTEXT,
  BINDING,
  DSIG_ALG,
  NS,
  STATUS,
  SUBJECT_CONFIRMATION_BEARER,
  XENC_ALG,
} from '../../src/saml/namespaces.js';
import { NAME_ID_FORMAT_URN, type KnownNameIdFormat } from '../../src/saml/name-id-formats.js';

// ---------------------------------------------------------------------------------------------
// Keys and certificates

export interface TestKeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  privateKeyPem: string;
  certPem: string;
  /** The certificate's DER, base64 (what goes into ds:X509Certificate and metadata). */
  certBase64: string;
  /** SHA-256 fingerprint of the DER, lower-case hex. */
  fingerprint256: string;
}

export interface KeyPairOptions {
  /** `rsa` (node:crypto + node-forge) or `ec-p256`/`ec-p384` (openssl CLI; forge cannot do EC). */
  type?: 'rsa' | 'ec-p256' | 'ec-p384';
  /** RSA modulus bits; default 2048. */
  bits?: number;
  commonName?: string;
  /** Certificate validity (RSA only); default now − 1 day … now + 365 days. */
  notBefore?: Date;
  notAfter?: Date;
}

function finishKeyPair(privateKeyPem: string, certPem: string): TestKeyPair {
  const cert = new X509Certificate(certPem);
  const privateKey = createPrivateKey(privateKeyPem);
  return {
    privateKey,
    publicKey: cert.publicKey,
    privateKeyPem,
    certPem,
    certBase64: cert.raw.toString('base64'),
    fingerprint256: createHash('sha256').update(cert.raw).digest('hex'),
  };
}

/** A key pair with a self-signed certificate, made now. */
export function generateTestKeyPair(options: KeyPairOptions = {}): TestKeyPair {
  const commonName = options.commonName ?? 'fedbridge test';
  const type = options.type ?? 'rsa';
  if (type !== 'rsa') {
    const dir = mkdtempSync(join(tmpdir(), 'fedbridge-test-key-'));
    try {
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${type === 'ec-p256' ? 'P-256' : 'P-384'}`,
        '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
        '-subj', `/CN=${commonName.replace(/[/=]/g, '_')}`, '-days', '365', '-sha256',
      ], { stdio: 'ignore' });
      return finishKeyPair(readFileSync(join(dir, 'key.pem'), 'utf8'), readFileSync(join(dir, 'cert.pem'), 'utf8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: options.bits ?? 2048 });
  const pkcs1 = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(pkcs1) as forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e);
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`; // positive, 128 bits of randomness
  const now = Date.now();
  cert.validity.notBefore = options.notBefore ?? new Date(now - 24 * 3600 * 1000);
  cert.validity.notAfter = options.notAfter ?? new Date(now + 365 * 24 * 3600 * 1000);
  const name = [{ name: 'commonName', value: commonName }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
  ]);
  cert.sign(forgeKey, forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n');
  return finishKeyPair(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), certPem);
}

// ---------------------------------------------------------------------------------------------
// Signing (xml-crypto, with the algorithms it lacks registered per instance)

const ECDSA_OR_EXTRA_SIGNATURES: Record<string, { hash: string; ec: boolean }> = {
  [DSIG_ALG.rsaSha384]: { hash: 'sha384', ec: false },
  [DSIG_ALG.ecdsaSha256]: { hash: 'sha256', ec: true },
  [DSIG_ALG.ecdsaSha384]: { hash: 'sha384', ec: true },
  [DSIG_ALG.ecdsaSha512]: { hash: 'sha512', ec: true },
};

function extraSignatureAlgorithm(uri: string, spec: { hash: string; ec: boolean }) {
  return class {
    getAlgorithmName = () => uri;
    getSignature = (signedInfo: string | Buffer, privateKey: KeyObject | string) =>
      cryptoSign(spec.hash, Buffer.from(signedInfo), {
        key: typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey,
        ...(spec.ec ? { dsaEncoding: 'ieee-p1363' as const } : {}),
      }).toString('base64');
    verifySignature = () => {
      throw new Error('test-idp signature algorithms only sign');
    };
  };
}

class Sha384 {
  getAlgorithmName = () => DSIG_ALG.sha384;
  getHash = (xml: string) => createHash('sha384').update(xml, 'utf8').digest('base64');
}

export interface SignOptions {
  /** Signature algorithm URI; default RSA-SHA256 (ECDSA-SHA256 for an EC key). */
  sigAlg?: string;
  /** Digest algorithm URI; default SHA-256. */
  digestAlg?: string;
  /** Transforms; default enveloped-signature + exclusive C14N. */
  transforms?: string[];
  /** SignedInfo canonicalization; default exclusive C14N. */
  canonicalization?: string;
  /** What KeyInfo carries: the signer's certificate (default), nothing, or another PEM. */
  keyInfo?: 'cert' | 'none' | { certPem: string };
}

/**
 * Signs the element whose `ID` attribute is `id` with an enveloped signature placed after its
 * saml:Issuer (or as its first child). Returns the whole document, signed.
 */
export function signElementById(xml: string, id: string, key: TestKeyPair, options: SignOptions = {}): string {
  const isEc = key.privateKey.asymmetricKeyType === 'ec';
  const sigAlg = options.sigAlg ?? (isEc ? DSIG_ALG.ecdsaSha256 : DSIG_ALG.rsaSha256);
  const keyInfoCert =
    options.keyInfo === 'none' ? undefined : typeof options.keyInfo === 'object' ? options.keyInfo.certPem : key.certPem;
  const signer = new SignedXml({
    privateKey: key.privateKeyPem,
    ...(keyInfoCert !== undefined ? { publicCert: keyInfoCert } : {}),
    idAttribute: 'ID',
    signatureAlgorithm: sigAlg,
    canonicalizationAlgorithm: options.canonicalization ?? DSIG_ALG.excC14n,
    ...(keyInfoCert === undefined ? { getKeyInfoContent: () => null } : {}),
  });
  const extra = ECDSA_OR_EXTRA_SIGNATURES[sigAlg];
  if (extra) signer.SignatureAlgorithms[sigAlg] = extraSignatureAlgorithm(sigAlg, extra) as never;
  signer.HashAlgorithms[DSIG_ALG.sha384] = Sha384 as never;
  if (id.includes("'")) throw new TypeError('id must not contain a quote');
  signer.addReference({
    xpath: `//*[@ID='${id}']`,
    transforms: options.transforms ?? [DSIG_ALG.envelopedSignature, DSIG_ALG.excC14n],
    digestAlgorithm: options.digestAlg ?? DSIG_ALG.sha256,
  });
  const doc = parse(xml);
  const target = findById(doc, id);
  if (!target) throw new Error(`no element with ID ${id}`);
  const first = firstChildElement(target);
  const afterIssuer = first !== undefined && first.namespaceURI === NS.saml && first.localName === 'Issuer';
  signer.computeSignature(xml, {
    prefix: 'ds',
    location: afterIssuer
      ? { reference: `//*[@ID='${id}']/*[local-name()='Issuer']`, action: 'after' }
      : { reference: `//*[@ID='${id}']`, action: 'prepend' },
  });
  return signer.getSignedXml();
}

// ---------------------------------------------------------------------------------------------
// Encryption (xml-encryption)

export type KeyTransportName = 'rsa-oaep-mgf1p' | 'rsa-oaep' | 'rsa-1_5';
export type ContentEncryptionName = 'aes128-cbc' | 'aes256-cbc' | 'aes128-gcm' | 'aes256-gcm' | 'tripledes-cbc';

export interface EncryptionSpec {
  /** The SP's encryption certificate. */
  certPem: string;
  algorithms?: {
    /** Default rsa-oaep-mgf1p. `rsa-oaep` is xmlenc11 (Shibboleth's default). */
    keyTransport?: KeyTransportName;
    /** Default aes256-gcm. */
    content?: ContentEncryptionName;
    /** OAEP digest (and MGF1 digest); default sha1. */
    oaepDigest?: 'sha1' | 'sha256';
  };
  /**
   * `inline` (default): EncryptedKey inside EncryptedData/KeyInfo (ADFS, xml-encryption).
   * `sibling`: EncryptedKey next to EncryptedData, referenced by RetrievalMethod (OpenSAML).
   */
  keyPlacement?: 'inline' | 'sibling';
}

const CONTENT_URI: Record<ContentEncryptionName, string> = {
  'aes128-cbc': XENC_ALG.aes128Cbc,
  'aes256-cbc': XENC_ALG.aes256Cbc,
  'aes128-gcm': XENC_ALG.aes128Gcm,
  'aes256-gcm': XENC_ALG.aes256Gcm,
  'tripledes-cbc': XENC_ALG.tripleDesCbc,
};

const encryptAsync = promisify(xmlenc.encrypt) as (content: string, options: xmlenc.EncryptOptions) => Promise<string>;

/**
 * Encrypts `elementXml` into the children of an EncryptedElementType container
 * (`saml:EncryptedAssertion`, `saml:EncryptedID`) and returns the container's XML.
 */
export async function encryptElement(
  elementXml: string,
  containerName: 'EncryptedAssertion' | 'EncryptedID',
  spec: EncryptionSpec,
): Promise<string> {
  const transport = spec.algorithms?.keyTransport ?? 'rsa-oaep-mgf1p';
  const digest = spec.algorithms?.oaepDigest ?? 'sha1';
  const rsaPub = new X509Certificate(spec.certPem).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const encryptedDataXml = await encryptAsync(elementXml, {
    rsa_pub: rsaPub,
    pem: spec.certPem,
    encryptionAlgorithm: CONTENT_URI[spec.algorithms?.content ?? 'aes256-gcm'] as xmlenc.EncryptionAlgorithm,
    keyEncryptionAlgorithm: transport === 'rsa-1_5' ? XENC_ALG.rsa15 : XENC_ALG.rsaOaepMgf1p,
    // Not in @types/xml-encryption, but read by xml-encryption 3: the OAEP (and MGF1) hash.
    ...({ keyEncryptionDigest: digest } as object),
    disallowEncryptionWithInsecureAlgorithm: false,
    warnInsecureAlgorithm: false,
  });

  const doc = new DOMImplementation().createDocument(NS.saml, `saml:${containerName}`, null);
  const container = doc.documentElement!;
  container.setAttributeNS(NS.xmlns, 'xmlns:saml', NS.saml);
  const encryptedData = doc.importNode(parse(encryptedDataXml).documentElement!, true) as Element;
  container.appendChild(encryptedData);

  const keyInfo = childrenNs(encryptedData, NS.ds, 'KeyInfo')[0]!;
  const encryptedKey = childrenNs(keyInfo, NS.xenc, 'EncryptedKey')[0]!;
  const method = childrenNs(encryptedKey, NS.xenc, 'EncryptionMethod')[0]!;

  if (transport === 'rsa-oaep') {
    // Same OAEP bytes, labelled as XML Encryption 1.1 writes them: standard digest URI, explicit MGF.
    method.setAttribute('Algorithm', XENC_ALG.rsaOaep);
    const digestMethod = childrenNs(method, NS.ds, 'DigestMethod')[0]!;
    digestMethod.setAttribute('Algorithm', digest === 'sha1' ? DSIG_ALG.sha1 : DSIG_ALG.sha256);
    const mgf = doc.createElementNS(NS.xenc11, 'xenc11:MGF');
    mgf.setAttribute('Algorithm', digest === 'sha1' ? XENC_ALG.mgf1Sha1 : XENC_ALG.mgf1Sha256);
    method.appendChild(mgf);
  }

  if (spec.keyPlacement === 'sibling') {
    const keyId = newSamlId();
    encryptedKey.setAttribute('Id', keyId);
    keyInfo.removeChild(encryptedKey);
    const retrieval = doc.createElementNS(NS.ds, 'ds:RetrievalMethod');
    retrieval.setAttribute('Type', XENC_ALG.typeEncryptedKey);
    retrieval.setAttribute('URI', `#${keyId}`);
    keyInfo.appendChild(retrieval);
    container.appendChild(encryptedKey);
  }
  return serialize(doc);
}

/** RSA-OAEP key transport of a raw content key, for tests that hand-build EncryptedKeys. */
export function oaepEncryptKey(certPem: string, contentKey: Buffer, oaepHash: 'sha1' | 'sha256' = 'sha1'): Buffer {
  return publicEncrypt(
    { key: new X509Certificate(certPem).publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash },
    contentKey,
  );
}

// ---------------------------------------------------------------------------------------------
// Responses

export interface ResponseStatus {
  code: string;
  subCode?: string;
  message?: string;
}

/** Parts of a Response/Assertion to leave out, to provoke each ACS check. */
export interface OmitFields {
  destination?: boolean;
  responseIssuer?: boolean;
  status?: boolean;
  /** Default: left out when the status is not Success. */
  assertion?: boolean;
  assertionIssuer?: boolean;
  subject?: boolean;
  nameId?: boolean;
  nameIdFormat?: boolean;
  subjectConfirmation?: boolean;
  subjectConfirmationData?: boolean;
  recipient?: boolean;
  subjectConfirmationNotOnOrAfter?: boolean;
  conditions?: boolean;
  notBefore?: boolean;
  notOnOrAfter?: boolean;
  audienceRestriction?: boolean;
  authnStatement?: boolean;
  authnContext?: boolean;
  sessionIndex?: boolean;
  attributeStatement?: boolean;
  version?: boolean;
}

export interface BuildResponseOptions {
  /** "Now" from the test's Clock; the default for IssueInstant, AuthnInstant and NotBefore. */
  now: number;
  /** Response Issuer; default the IdP's entity id. */
  issuer?: string;
  /** Assertion Issuer; default `issuer`. */
  assertionIssuer?: string;
  destination?: string;
  inResponseTo?: string;
  audience: string | string[];
  recipient: string;
  nameId: string;
  /** Short name or URN; default unspecified. */
  nameIdFormat?: KnownNameIdFormat | string;
  nameIdQualifiers?: { nameQualifier?: string; spNameQualifier?: string };
  sessionIndex?: string;
  sessionNotOnOrAfter?: number;
  attributes?: Record<string, string | string[]>;
  /** Default unspecified. */
  attributeNameFormat?: string;
  issueInstant?: number;
  authnInstant?: number;
  /** Default `now`. */
  notBefore?: number;
  /** Default now + 5 min. */
  notOnOrAfter?: number;
  /** Default now + 5 min. */
  subjectConfirmationNotOnOrAfter?: number;
  /** Default PasswordProtectedTransport. */
  authnContextClassRef?: string;
  assertionId?: string;
  responseId?: string;
  /** Default Success. */
  status?: ResponseStatus;
  signAssertion: boolean;
  signResponse: boolean;
  /** Sign with another key than the IdP's (e.g. an attacker's); KeyInfo then carries its cert. */
  signWith?: TestKeyPair;
  sigAlg?: string;
  digestAlg?: string;
  /** Further signature knobs (transforms, canonicalization, KeyInfo). */
  signOptions?: Omit<SignOptions, 'sigAlg' | 'digestAlg'>;
  /** Encrypt the (signed) assertion into an EncryptedAssertion. */
  encryptTo?: EncryptionSpec;
  /** Encrypt the NameID into an EncryptedID (before the assertion is signed). */
  encryptNameIdTo?: EncryptionSpec;
  omit?: OmitFields;
  /** Edit the DOM after it is built and before anything is signed or encrypted. */
  mutate?: (doc: Document) => void;
  /** Edit the final XML text after signing (wrapping attacks, comment injection…). */
  postSign?: (xml: string) => string;
}

export interface BuiltResponse {
  xml: string;
  /** base64 of `xml`, as the HTTP-POST binding carries it. */
  base64: string;
  responseId: string;
  assertionId: string;
}

export interface TestIdpOptions {
  entityId?: string;
  /** Signing key; generated (RSA 2048) when absent. */
  keyPair?: TestKeyPair;
}

export class TestIdp {
  readonly entityId: string;
  readonly keyPair: TestKeyPair;

  constructor(options: TestIdpOptions = {}) {
    this.entityId = options.entityId ?? 'https://idp.test.example/saml';
    this.keyPair = options.keyPair ?? generateTestKeyPair({ commonName: 'test-idp' });
  }

  get certPem(): string {
    return this.keyPair.certPem;
  }

  async buildResponse(options: BuildResponseOptions): Promise<BuiltResponse> {
    const omit = options.omit ?? {};
    const status = options.status ?? { code: STATUS.success };
    const responseId = options.responseId ?? newSamlId();
    const assertionId = options.assertionId ?? newSamlId();
    const issuer = options.issuer ?? this.entityId;
    const now = options.now;
    const issueInstant = toSamlInstant(options.issueInstant ?? now);
    const includeAssertion = !(omit.assertion ?? status.code !== STATUS.success);

    const doc = new DOMImplementation().createDocument(NS.samlp, 'samlp:Response', null);
    const response = doc.documentElement!;
    response.setAttributeNS(NS.xmlns, 'xmlns:samlp', NS.samlp);
    response.setAttributeNS(NS.xmlns, 'xmlns:saml', NS.saml);
    response.setAttribute('ID', responseId);
    if (!omit.version) response.setAttribute('Version', '2.0');
    response.setAttribute('IssueInstant', issueInstant);
    if (options.destination !== undefined && !omit.destination) response.setAttribute('Destination', options.destination);
    if (options.inResponseTo !== undefined) response.setAttribute('InResponseTo', options.inResponseTo);

    if (!omit.responseIssuer) response.appendChild(textElement(doc, NS.saml, 'saml:Issuer', issuer));
    if (!omit.status) response.appendChild(statusElement(doc, status));

    if (includeAssertion) {
      response.appendChild(this.assertionElement(doc, options, assertionId, issueInstant));
    }

    options.mutate?.(doc);
    let xml = serialize(doc);

    if (options.encryptNameIdTo) {
      const current = parse(xml);
      const nameId = findByPath(current, assertionId, ['Subject', 'NameID']);
      if (!nameId) throw new Error('encryptNameIdTo: no NameID to encrypt');
      const encrypted = await encryptElement(serialize(nameId), 'EncryptedID', options.encryptNameIdTo);
      nameId.parentNode!.replaceChild(current.importNode(parse(encrypted).documentElement!, true), nameId);
      xml = serialize(current);
    }

    const signer = options.signWith ?? this.keyPair;
    const signOptions: SignOptions = {
      ...options.signOptions,
      ...(options.sigAlg !== undefined ? { sigAlg: options.sigAlg } : {}),
      ...(options.digestAlg !== undefined ? { digestAlg: options.digestAlg } : {}),
    };
    if (options.signAssertion && includeAssertion) xml = signElementById(xml, assertionId, signer, signOptions);

    if (options.encryptTo && includeAssertion) {
      const current = parse(xml);
      const assertion = findById(current, assertionId);
      if (!assertion) throw new Error('encryptTo: assertion not found');
      const encrypted = await encryptElement(serialize(assertion), 'EncryptedAssertion', options.encryptTo);
      assertion.parentNode!.replaceChild(current.importNode(parse(encrypted).documentElement!, true), assertion);
      xml = serialize(current);
    }

    if (options.signResponse) xml = signElementById(xml, responseId, signer, signOptions);
    if (options.postSign) xml = options.postSign(xml);
    return { xml, base64: Buffer.from(xml, 'utf8').toString('base64'), responseId, assertionId };
  }

  private assertionElement(doc: Document, options: BuildResponseOptions, assertionId: string, issueInstant: string): Element {
    const omit = options.omit ?? {};
    const now = options.now;
    const assertion = doc.createElementNS(NS.saml, 'saml:Assertion');
    // Declared on the Assertion itself so it stays self-contained when encrypted or extracted.
    assertion.setAttributeNS(NS.xmlns, 'xmlns:saml', NS.saml);
    assertion.setAttributeNS(NS.xmlns, 'xmlns:xs', NS.xs);
    assertion.setAttributeNS(NS.xmlns, 'xmlns:xsi', NS.xsi);
    assertion.setAttribute('ID', assertionId);
    if (!omit.version) assertion.setAttribute('Version', '2.0');
    assertion.setAttribute('IssueInstant', issueInstant);

    if (!omit.assertionIssuer) {
      assertion.appendChild(textElement(doc, NS.saml, 'saml:Issuer', options.assertionIssuer ?? options.issuer ?? this.entityId));
    }

    if (!omit.subject) {
      const subject = doc.createElementNS(NS.saml, 'saml:Subject');
      if (!omit.nameId) {
        const nameId = textElement(doc, NS.saml, 'saml:NameID', options.nameId);
        if (!omit.nameIdFormat) nameId.setAttribute('Format', formatUrn(options.nameIdFormat ?? 'unspecified'));
        if (options.nameIdQualifiers?.nameQualifier) nameId.setAttribute('NameQualifier', options.nameIdQualifiers.nameQualifier);
        if (options.nameIdQualifiers?.spNameQualifier) nameId.setAttribute('SPNameQualifier', options.nameIdQualifiers.spNameQualifier);
        subject.appendChild(nameId);
      }
      if (!omit.subjectConfirmation) {
        const confirmation = doc.createElementNS(NS.saml, 'saml:SubjectConfirmation');
        confirmation.setAttribute('Method', SUBJECT_CONFIRMATION_BEARER);
        if (!omit.subjectConfirmationData) {
          const data = doc.createElementNS(NS.saml, 'saml:SubjectConfirmationData');
          if (options.inResponseTo !== undefined) data.setAttribute('InResponseTo', options.inResponseTo);
          if (!omit.subjectConfirmationNotOnOrAfter) {
            data.setAttribute('NotOnOrAfter', toSamlInstant(options.subjectConfirmationNotOnOrAfter ?? now + 5 * 60_000));
          }
          if (!omit.recipient) data.setAttribute('Recipient', options.recipient);
          confirmation.appendChild(data);
        }
        subject.appendChild(confirmation);
      }
      assertion.appendChild(subject);
    }

    if (!omit.conditions) {
      const conditions = doc.createElementNS(NS.saml, 'saml:Conditions');
      if (!omit.notBefore) conditions.setAttribute('NotBefore', toSamlInstant(options.notBefore ?? now));
      if (!omit.notOnOrAfter) conditions.setAttribute('NotOnOrAfter', toSamlInstant(options.notOnOrAfter ?? now + 5 * 60_000));
      if (!omit.audienceRestriction) {
        const restriction = doc.createElementNS(NS.saml, 'saml:AudienceRestriction');
        for (const audience of [options.audience].flat()) {
          restriction.appendChild(textElement(doc, NS.saml, 'saml:Audience', audience));
        }
        conditions.appendChild(restriction);
      }
      assertion.appendChild(conditions);
    }

    if (!omit.authnStatement) {
      const statement = doc.createElementNS(NS.saml, 'saml:AuthnStatement');
      statement.setAttribute('AuthnInstant', toSamlInstant(options.authnInstant ?? now));
      if (!omit.sessionIndex) statement.setAttribute('SessionIndex', options.sessionIndex ?? newSamlId());
      if (options.sessionNotOnOrAfter !== undefined) {
        statement.setAttribute('SessionNotOnOrAfter', toSamlInstant(options.sessionNotOnOrAfter));
      }
      if (!omit.authnContext) {
        const context = doc.createElementNS(NS.saml, 'saml:AuthnContext');
        context.appendChild(
          textElement(doc, NS.saml, 'saml:AuthnContextClassRef', options.authnContextClassRef ?? AUTHN_CONTEXT.passwordProtectedTransport),
        );
        statement.appendChild(context);
      }
      assertion.appendChild(statement);
    }

    const attributes = Object.entries(options.attributes ?? {});
    if (!omit.attributeStatement && attributes.length > 0) {
      const statement = doc.createElementNS(NS.saml, 'saml:AttributeStatement');
      for (const [name, values] of attributes) {
        const attribute = doc.createElementNS(NS.saml, 'saml:Attribute');
        attribute.setAttribute('Name', name);
        attribute.setAttribute('NameFormat', options.attributeNameFormat ?? ATTRNAME_FORMAT.unspecified);
        for (const value of [values].flat()) {
          const valueEl = textElement(doc, NS.saml, 'saml:AttributeValue', value);
          valueEl.setAttributeNS(NS.xsi, 'xsi:type', 'xs:string');
          attribute.appendChild(valueEl);
        }
        statement.appendChild(attribute);
      }
      assertion.appendChild(statement);
    }
    return assertion;
  }

  /** IdP metadata (EntityDescriptor with an IDPSSODescriptor) for metadata-import tests. */
  metadataXml(options: { ssoUrl: string; sloUrl?: string; wantAuthnRequestsSigned?: boolean; extraSigningCerts?: string[] }): string {
    const doc = new DOMImplementation().createDocument(NS.md, 'md:EntityDescriptor', null);
    const root = doc.documentElement!;
    root.setAttributeNS(NS.xmlns, 'xmlns:md', NS.md);
    root.setAttributeNS(NS.xmlns, 'xmlns:ds', NS.ds);
    root.setAttribute('entityID', this.entityId);
    const idp = doc.createElementNS(NS.md, 'md:IDPSSODescriptor');
    if (options.wantAuthnRequestsSigned !== undefined) {
      idp.setAttribute('WantAuthnRequestsSigned', String(options.wantAuthnRequestsSigned));
    }
    idp.setAttribute('protocolSupportEnumeration', NS.samlp);
    for (const certBase64 of [this.keyPair.certBase64, ...(options.extraSigningCerts ?? []).map(pemBody)]) {
      const descriptor = doc.createElementNS(NS.md, 'md:KeyDescriptor');
      descriptor.setAttribute('use', 'signing');
      const keyInfo = doc.createElementNS(NS.ds, 'ds:KeyInfo');
      const data = doc.createElementNS(NS.ds, 'ds:X509Data');
      data.appendChild(textElement(doc, NS.ds, 'ds:X509Certificate', certBase64));
      keyInfo.appendChild(data);
      descriptor.appendChild(keyInfo);
      idp.appendChild(descriptor);
    }
    if (options.sloUrl) {
      const slo = doc.createElementNS(NS.md, 'md:SingleLogoutService');
      slo.setAttribute('Binding', BINDING.httpRedirect);
      slo.setAttribute('Location', options.sloUrl);
      idp.appendChild(slo);
    }
    for (const format of ['emailAddress', 'persistent'] as const) {
      idp.appendChild(textElement(doc, NS.md, 'md:NameIDFormat', NAME_ID_FORMAT_URN[format]));
    }
    for (const binding of [BINDING.httpRedirect, BINDING.httpPost]) {
      const sso = doc.createElementNS(NS.md, 'md:SingleSignOnService');
      sso.setAttribute('Binding', binding);
      sso.setAttribute('Location', options.ssoUrl);
      idp.appendChild(sso);
    }
    root.appendChild(idp);
    return serialize(doc);
  }
}

// ---------------------------------------------------------------------------------------------
// DOM plumbing (local: test support must not depend on the code under test's parser)

function parse(xml: string): Document {
  return new DOMParser({
    onError: (level, message) => {
      if (level !== 'warning') throw new Error(`test-idp: cannot parse XML: ${message}`);
    },
  }).parseFromString(xml, 'text/xml');
}

function serialize(node: Document | Element): string {
  return new XMLSerializer().serializeToString(node);
}

function textElement(doc: Document, ns: string, qualifiedName: string, text: string): Element {
  const el = doc.createElementNS(ns, qualifiedName);
  el.appendChild(doc.createTextNode(text));
  return el;
}

function statusElement(doc: Document, status: ResponseStatus): Element {
  const el = doc.createElementNS(NS.samlp, 'samlp:Status');
  const code = doc.createElementNS(NS.samlp, 'samlp:StatusCode');
  code.setAttribute('Value', status.code);
  if (status.subCode) {
    const sub = doc.createElementNS(NS.samlp, 'samlp:StatusCode');
    sub.setAttribute('Value', status.subCode);
    code.appendChild(sub);
  }
  el.appendChild(code);
  if (status.message !== undefined) el.appendChild(textElement(doc, NS.samlp, 'samlp:StatusMessage', status.message));
  return el;
}

function formatUrn(format: string): string {
  return format in NAME_ID_FORMAT_URN ? NAME_ID_FORMAT_URN[format as KnownNameIdFormat] : format;
}

function pemBody(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}

function firstChildElement(el: Element): Element | undefined {
  for (let node = el.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === node.ELEMENT_NODE) return node as Element;
  }
  return undefined;
}

function childrenNs(el: Element, ns: string, localName: string): Element[] {
  const out: Element[] = [];
  for (let node = el.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === node.ELEMENT_NODE && node.namespaceURI === ns && (node as Element).localName === localName) {
      out.push(node as Element);
    }
  }
  return out;
}

function findById(doc: Document, id: string): Element | undefined {
  const stack: Element[] = doc.documentElement ? [doc.documentElement] : [];
  while (stack.length > 0) {
    const el = stack.pop()!;
    if (el.getAttribute('ID') === id) return el;
    for (let node = el.lastChild; node; node = node.previousSibling) {
      if (node.nodeType === node.ELEMENT_NODE) stack.push(node as Element);
    }
  }
  return undefined;
}

function findByPath(doc: Document, assertionId: string, path: string[]): Element | undefined {
  let current = findById(doc, assertionId);
  for (const name of path) {
    if (!current) return undefined;
    current = childrenNs(current, NS.saml, name)[0];
  }
  return current;
}
