/**
 * Test-only XML signing with xml-crypto's SignedXml (the library most IdPs in our interop tests
 * build on), so fixtures are real signatures made by code we did not write. Also: throw-away
 * RSA/EC keys with self-signed certificates (made by `openssl` at test time, never committed),
 * and the ECDSA / SHA-384 algorithm classes xml-crypto lacks, for signing and for using
 * SignedXml as a verification oracle.
 *
 * Typical use:
 *   const idp = generateTestSigningKey({ type: 'rsa' });
 *   const signed = signXml(responseXml, { key: idp, id: 'resp-1' });  // enveloped, after Issuer
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash, createPrivateKey, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { SignedXml } from 'xml-crypto';
import { DSIG_ALG } from '../../src/saml/namespaces.js';

/** The XML-DSig URIs of src (one list), plus the short name this module's callers use for the enveloped transform. */
export const ALG = { ...DSIG_ALG, enveloped: DSIG_ALG.envelopedSignature } as const;

export interface TestSigningKey {
  type: 'rsa' | 'ec';
  privateKey: KeyObject;
  privateKeyPem: string;
  /** Self-signed certificate, PEM. */
  certPem: string;
  certDer: Buffer;
  /** Bare base64 DER, as in `ds:X509Certificate` and metadata. */
  certBase64: string;
  /** Public key parsed from the certificate. */
  publicKey: KeyObject;
  sha256Fingerprint: string;
}

export type TestKeySpec =
  | { type: 'rsa'; bits?: 1024 | 2048 | 3072 | 4096; subject?: string; days?: number }
  | { type: 'ec'; curve?: 'P-256' | 'P-384' | 'P-521'; subject?: string; days?: number };

/** A fresh key pair and self-signed X.509 v3 certificate (via `openssl req -x509`). */
export function generateTestSigningKey(spec: TestKeySpec): TestSigningKey {
  const keyArgs =
    spec.type === 'rsa'
      ? ['-newkey', `rsa:${spec.bits ?? 2048}`]
      : ['-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${spec.curve ?? 'P-256'}`];
  const out = execFileSync(
    'openssl',
    ['req', '-x509', ...keyArgs, '-nodes', '-keyout', '-', '-out', '-', '-sha256',
      '-subj', spec.subject ?? `/CN=fedbridge-test-${spec.type}`, '-days', String(spec.days ?? 30)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  ).toString('latin1');
  const keyPem = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n?/.exec(out)?.[0];
  const certPem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/.exec(out)?.[0];
  if (!keyPem || !certPem) throw new Error('openssl did not produce a key and a certificate');
  const cert = new X509Certificate(certPem);
  return {
    type: spec.type,
    privateKey: createPrivateKey(keyPem),
    privateKeyPem: keyPem,
    certPem,
    certDer: cert.raw,
    certBase64: cert.raw.toString('base64'),
    publicKey: cert.publicKey,
    sha256Fingerprint: createHash('sha256').update(cert.raw).digest('hex'),
  };
}

// ---------------------------------------------------------------------------------------------
// Algorithms xml-crypto 6 does not ship: ECDSA (raw r||s, as XMLDSig 1.1 requires), RSA-SHA384,
// SHA-384. Registered on a SignedXml by registerExtraAlgorithms, for signing and verifying.

type HashName = 'sha256' | 'sha384' | 'sha512';

function signatureAlgorithmClass(uri: string, hash: HashName, ecdsa: boolean): new () => unknown {
  const opts = (key: unknown) => (ecdsa ? { key, dsaEncoding: 'ieee-p1363' as const } : key);
  return class {
    getSignature(signedInfo: string | Buffer, privateKey: unknown, callback?: (err: Error | null, sig?: string) => void) {
      const value = sign(hash, Buffer.from(signedInfo), opts(privateKey) as never).toString('base64');
      if (callback) return callback(null, value);
      return value;
    }
    verifySignature(material: string, key: unknown, signatureValue: string, callback?: (err: Error | null, ok?: boolean) => void) {
      let ok: boolean;
      try {
        ok = verify(hash, Buffer.from(material), opts(key) as never, Buffer.from(signatureValue, 'base64'));
      } catch {
        ok = false;
      }
      if (callback) return callback(null, ok);
      return ok;
    }
    getAlgorithmName() {
      return uri;
    }
  };
}

class Sha384 {
  getHash(xml: string) {
    return createHash('sha384').update(xml, 'utf8').digest('base64');
  }
  getAlgorithmName() {
    return ALG.sha384;
  }
}

/** Adds ECDSA-SHA256/384/512, RSA-SHA384 and SHA-384 to a SignedXml (signer or oracle). */
export function registerExtraAlgorithms(sig: SignedXml): SignedXml {
  const algorithms = sig.SignatureAlgorithms as Record<string, unknown>;
  algorithms[ALG.ecdsaSha256] = signatureAlgorithmClass(ALG.ecdsaSha256, 'sha256', true);
  algorithms[ALG.ecdsaSha384] = signatureAlgorithmClass(ALG.ecdsaSha384, 'sha384', true);
  algorithms[ALG.ecdsaSha512] = signatureAlgorithmClass(ALG.ecdsaSha512, 'sha512', true);
  algorithms[ALG.rsaSha384] = signatureAlgorithmClass(ALG.rsaSha384, 'sha384', false);
  (sig.HashAlgorithms as Record<string, unknown>)[ALG.sha384] = Sha384;
  return sig;
}

// ---------------------------------------------------------------------------------------------

export interface ExtraReference {
  /** XPath (local-name() based) of the element(s) to reference. */
  xpath: string;
  transforms?: string[];
  digestAlgorithm?: string;
  inclusiveNamespacesPrefixList?: string[];
  /** Reference with URI="" (the whole document). */
  isEmptyUri?: boolean;
}

export interface SignXmlOptions {
  /** Signing key; its certificate goes into KeyInfo unless `keyInfo` says otherwise. */
  key: Pick<TestSigningKey, 'type' | 'privateKey'> & { certPem?: string };
  /** ID value of the element to sign (enveloped). */
  id: string;
  /** Attribute holding the ID: `ID` (default), `AssertionID` (SAML 1.1), `Id`. */
  idAttribute?: string;
  /** Default: RSA-SHA256 for RSA keys, ECDSA-SHA256 for EC keys. */
  signatureAlgorithm?: string;
  /** Default SHA-256. */
  digestAlgorithm?: string;
  /** SignedInfo CanonicalizationMethod. Default exclusive C14N. */
  canonicalizationAlgorithm?: string;
  /** Reference transforms. Default [enveloped-signature, exclusive C14N]. */
  transforms?: string[];
  /** InclusiveNamespaces PrefixList of the reference's exclusive C14N transform. */
  inclusiveNamespacesPrefixList?: string[];
  /** InclusiveNamespaces PrefixList of SignedInfo's CanonicalizationMethod. */
  signedInfoPrefixList?: string[];
  /**
   * KeyInfo: `true` (default when the key has a certificate) inserts the signing certificate,
   * a PEM string inserts that certificate instead, `false` omits KeyInfo.
   */
  keyInfo?: boolean | string;
  /** Namespace prefix of the Signature elements. Default `ds`; '' for a default namespace. */
  prefix?: string;
  /**
   * Where the Signature goes (xml-crypto location, XPath). Default: right after the signed
   * element's Issuer child when it has one (SAML schema order), else as its first child.
   */
  location?: { reference: string; action: 'append' | 'prepend' | 'before' | 'after' };
  /** More References besides the one to `id` (attack fixtures). */
  extraReferences?: ExtraReference[];
  /** Make the main reference URI="" instead of #id (attack fixture). */
  emptyUri?: boolean;
}

function byIdXpath(id: string, idAttribute: string): string {
  return `//*[@${idAttribute}='${id}']`;
}

/** Signs the element whose `idAttribute` is `id` with an enveloped signature; returns the document. */
export function signXml(xml: string, opts: SignXmlOptions): string {
  const idAttribute = opts.idAttribute ?? 'ID';
  const transforms = opts.transforms ?? [ALG.enveloped, ALG.excC14n];
  const certPem = typeof opts.keyInfo === 'string' ? opts.keyInfo : opts.keyInfo === false ? undefined : opts.key.certPem;

  const make = () => {
    const sig = registerExtraAlgorithms(
      new SignedXml({
        idAttribute,
        privateKey: opts.key.privateKey,
        publicCert: certPem,
        signatureAlgorithm: opts.signatureAlgorithm ?? (opts.key.type === 'ec' ? ALG.ecdsaSha256 : ALG.rsaSha256),
        canonicalizationAlgorithm: opts.canonicalizationAlgorithm ?? ALG.excC14n,
        inclusiveNamespacesPrefixList: opts.signedInfoPrefixList,
        // Without a certificate, publish no KeyInfo at all.
        getKeyInfoContent: certPem ? SignedXml.getKeyInfoContent : () => null,
      }),
    );
    sig.addReference({
      xpath: opts.emptyUri ? '/*' : byIdXpath(opts.id, idAttribute),
      transforms,
      digestAlgorithm: opts.digestAlgorithm ?? ALG.sha256,
      inclusiveNamespacesPrefixList: opts.inclusiveNamespacesPrefixList ?? [],
      isEmptyUri: opts.emptyUri ?? false,
    });
    for (const extra of opts.extraReferences ?? []) {
      sig.addReference({
        xpath: extra.xpath,
        transforms: extra.transforms ?? [ALG.enveloped, ALG.excC14n],
        digestAlgorithm: extra.digestAlgorithm ?? ALG.sha256,
        inclusiveNamespacesPrefixList: extra.inclusiveNamespacesPrefixList ?? [],
        isEmptyUri: extra.isEmptyUri ?? false,
      });
    }
    return sig;
  };
  const computeOptions = { prefix: opts.prefix ?? 'ds' };

  if (opts.location) {
    const sig = make();
    sig.computeSignature(xml, { ...computeOptions, location: opts.location });
    return sig.getSignedXml();
  }
  const target = byIdXpath(opts.id, idAttribute);
  try {
    const sig = make();
    sig.computeSignature(xml, {
      ...computeOptions,
      location: { reference: `${target}/*[local-name(.)='Issuer']`, action: 'after' },
    });
    return sig.getSignedXml();
  } catch (err) {
    if (!(err instanceof Error) || !/was not found|cannot be used/.test(err.message)) throw err;
    const sig = make();
    sig.computeSignature(xml, { ...computeOptions, location: { reference: target, action: 'prepend' } });
    return sig.getSignedXml();
  }
}
