/**
 * The keys SAML code asks for (R-CERT-1, R-CERT-2): the IdP's public keys to verify
 * assertions, and the org's service keys to sign requests and metadata and to decrypt
 * assertions. Keys are parsed (and private keys unsealed) once per org *version*: every
 * certificate change bumps the version in the database (certificate-service.ts), so a change
 * made on any instance makes this cache stale as soon as a request carries the newer org.
 * Private keys live only as KeyObjects in this process; nothing here logs or returns PEM
 * of a private key.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { AppContext } from '../app-context.js';
import { open } from '../crypto/envelope.js';
import {
  hasActiveCertificate,
  listCertificates,
  listServiceKeyMaterial,
  serviceKeyAssociatedData,
} from '../store/certificates.js';
import type { Org } from '../store/orgs.js';
import { getPinnedKey } from '../xml/pinned-keys.js';

/** What the provider needs of an org: its id and the version it was read at. */
export type VersionedOrg = Pick<Org, 'id' | 'version'>;

export interface ServiceSigningKey {
  id: string;
  /** The private key; use it, never export it. */
  key: KeyObject;
  certificatePem: string;
}

export interface OrgKeyProvider {
  /** The active org certificate's public key, or every org certificate's (≤ 3, active first) when trustAll. */
  idpVerificationKeys(org: VersionedOrg, opts: { trustAll: boolean }): Promise<KeyObject[]>;
  /** Private keys of every service certificate, active first: an IdP still encrypting to the previous one keeps working. */
  serviceDecryptionKeys(org: VersionedOrg): Promise<KeyObject[]>;
  /** The active service certificate's key and PEM, to sign AuthnRequests, LogoutRequests and metadata. */
  activeServiceSigning(org: VersionedOrg): Promise<ServiceSigningKey | undefined>;
  /** Service certificates to publish in SP metadata: active first, then the others. */
  serviceCertificatesForMetadata(org: VersionedOrg): Promise<{ pem: string; active: boolean }[]>;
  /** Uncached: whether signing can work at all (SSO_NO_ACTIVE_CERT otherwise). */
  hasActiveServiceCertificate(orgId: string): Promise<boolean>;
}

interface IdpKeys {
  active: KeyObject[];
  all: KeyObject[];
}

interface ServiceKey {
  id: string;
  certificatePem: string;
  active: boolean;
  key: KeyObject;
}

interface CacheEntry<T> {
  version: number;
  value: Promise<T>;
}

/** Far more orgs than one instance serves at once; the oldest entry goes first. */
const MAX_CACHED_ORGS = 10_000;

/**
 * A per-org cache keyed by version. An entry serves any org read at its version or earlier
 * (it was loaded after that read, so it is at least as new); a newer version reloads.
 */
class VersionedCache<T> {
  private readonly entries = new Map<string, CacheEntry<T>>();
  constructor(private readonly load: (orgId: string) => Promise<T>) {}

  get(org: VersionedOrg): Promise<T> {
    const cached = this.entries.get(org.id);
    if (cached && cached.version >= org.version) return cached.value;
    const value = this.load(org.id);
    const entry = { version: org.version, value };
    this.entries.delete(org.id);
    if (this.entries.size >= MAX_CACHED_ORGS) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(org.id, entry);
    // A failed load (database down, wrong master key) must not stick.
    value.catch(() => {
      if (this.entries.get(org.id) === entry) this.entries.delete(org.id);
    });
    return value;
  }
}

export function createOrgKeyProvider(ctx: Pick<AppContext, 'database' | 'masterKey'>): OrgKeyProvider {
  const db = () => ctx.database.db;

  const idp = new VersionedCache<IdpKeys>(async (orgId) => {
    const certs = await listCertificates(db(), 'org', orgId); // active first
    const all = certs.map((c) => getPinnedKey(c.certificatePem));
    return { all, active: all.filter((_, i) => certs[i]!.active) };
  });

  const service = new VersionedCache<ServiceKey[]>(async (orgId) => {
    const rows = await listServiceKeyMaterial(db(), orgId); // active first
    return rows.map((row) => {
      const pem = open(ctx.masterKey, row.privateKeySealed, serviceKeyAssociatedData(row.id));
      try {
        return { id: row.id, certificatePem: row.certificatePem, active: row.active, key: createPrivateKey({ key: pem, format: 'pem' }) };
      } finally {
        pem.fill(0);
      }
    });
  });

  return {
    async idpVerificationKeys(org, { trustAll }) {
      const keys = await idp.get(org);
      return trustAll ? [...keys.all] : [...keys.active];
    },
    async serviceDecryptionKeys(org) {
      return (await service.get(org)).map((k) => k.key);
    },
    async activeServiceSigning(org) {
      const active = (await service.get(org)).find((k) => k.active);
      return active && { id: active.id, key: active.key, certificatePem: active.certificatePem };
    },
    async serviceCertificatesForMetadata(org) {
      return (await service.get(org)).map((k) => ({ pem: k.certificatePem, active: k.active }));
    },
    hasActiveServiceCertificate(orgId) {
      return hasActiveCertificate(db(), 'service', orgId);
    },
  };
}
