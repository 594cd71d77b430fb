/**
 * Token-signing keys (R-OAUTH-5): ES256 by default (RS256 optional), private parts sealed
 * under the master key, published at /.well-known/jwks.json with the previous keys.
 *
 * Rotation makes a new key current and keeps the old one published for
 * PREVIOUS_KEY_RETENTION_MS — longer than anything it signed can live (access and ID tokens:
 * at most one hour) — so rotating never breaks a live token. JWT access tokens cannot be
 * revoked before they expire; that is why they live one hour at most.
 */
import crypto from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { AppContext } from '../app-context.js';
import { open, seal } from '../crypto/envelope.js';
import { recordAudit } from '../store/audit.js';
import { isUniqueViolation } from '../store/database.js';
import {
  deleteRetiredSigningKeys,
  insertCurrentSigningKey,
  listSigningKeys,
  retireCurrentSigningKey,
  type SigningKeyRecord,
} from '../store/oauth-signing-keys.js';

export const SIGNING_ALGORITHMS = ['ES256', 'RS256'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];
export const DEFAULT_SIGNING_ALGORITHM: SigningAlgorithm = 'ES256';

/** A day: far beyond the one-hour lifetime of access and ID tokens, and of JWKS caches. */
export const PREVIOUS_KEY_RETENTION_MS = 24 * 3600 * 1000;

/** A private JWK as oidc-provider's keystore takes it. */
export type PrivateSigningJwk = JWK & { kid: string; alg: SigningAlgorithm; use: 'sig' };

export interface SigningKeySet {
  /** Current key first: oidc-provider signs with the first key of a matching algorithm. */
  keys: PrivateSigningJwk[];
  current: { kid: string; alg: SigningAlgorithm };
}

export function isSigningAlgorithm(value: unknown): value is SigningAlgorithm {
  return typeof value === 'string' && (SIGNING_ALGORITHMS as readonly string[]).includes(value);
}

function associatedData(kid: string): string {
  return `oauth-signing-key:${kid}`;
}

export async function generateSigningKey(alg: SigningAlgorithm): Promise<{ kid: string; publicJwk: JWK; privateJwk: PrivateSigningJwk }> {
  const { privateKey, publicKey } =
    alg === 'ES256'
      ? crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pub = publicKey.export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint(pub, 'sha256');
  const publicJwk: JWK = { ...pub, kid, alg, use: 'sig' };
  const privateJwk = { ...(privateKey.export({ format: 'jwk' }) as JWK), kid, alg, use: 'sig' } as PrivateSigningJwk;
  return { kid, publicJwk, privateJwk };
}

async function storeNewCurrentKey(ctx: AppContext, db: Parameters<typeof insertCurrentSigningKey>[0], alg: SigningAlgorithm, now: number): Promise<string> {
  const { kid, publicJwk, privateJwk } = await generateSigningKey(alg);
  await insertCurrentSigningKey(db, {
    kid,
    alg,
    publicJwk: JSON.stringify(publicJwk),
    privateJwkSealed: seal(ctx.masterKey, JSON.stringify(privateJwk), associatedData(kid)),
    createdAt: now,
  });
  return kid;
}

/**
 * Creates the first signing key when there is none. Two instances starting together: the
 * partial unique index lets one insert win; the other reads the winner's key.
 */
export async function ensureSigningKey(ctx: AppContext): Promise<void> {
  const keys = await listSigningKeys(ctx.database.db);
  if (keys.some((k) => k.status === 'current')) return;
  try {
    await storeNewCurrentKey(ctx, ctx.database.db, DEFAULT_SIGNING_ALGORITHM, ctx.clock.now());
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
  }
}

function toPrivateJwk(ctx: AppContext, k: SigningKeyRecord): PrivateSigningJwk {
  const jwk = JSON.parse(open(ctx.masterKey, k.privateJwkSealed, associatedData(k.kid)).toString('utf8')) as PrivateSigningJwk;
  if (jwk.kid !== k.kid || jwk.alg !== k.alg) throw new Error(`signing key ${k.kid} does not match its record`);
  return jwk;
}

/** The keys to sign and publish with: the current one and the previous ones still retained. */
export async function loadSigningKeySet(ctx: AppContext): Promise<SigningKeySet> {
  await ensureSigningKey(ctx);
  const now = ctx.clock.now();
  const records = (await listSigningKeys(ctx.database.db)).filter(
    (k) => k.status === 'current' || (k.retiredAt !== null && k.retiredAt > now - PREVIOUS_KEY_RETENTION_MS),
  );
  const current = records[0];
  if (!current || current.status !== 'current' || !isSigningAlgorithm(current.alg)) {
    throw new Error('no current OAuth signing key');
  }
  return { keys: records.map((k) => toPrivateJwk(ctx, k)), current: { kid: current.kid, alg: current.alg } };
}

export interface RotationResult {
  current: { kid: string; alg: SigningAlgorithm };
  /** Keys still published for verification. */
  previous: string[];
  /** Keys retired longer than the retention and now deleted. */
  deleted: string[];
}

/**
 * Rotates: the current key becomes previous (still published), a new key of `alg` becomes
 * current, keys retired past the retention are deleted. One transaction, one audit entry.
 */
export async function rotateSigningKeys(ctx: AppContext, actor: string, alg: SigningAlgorithm = DEFAULT_SIGNING_ALGORITHM): Promise<RotationResult> {
  const now = ctx.clock.now();
  return ctx.database.db.transaction().execute(async (trx) => {
    const retired = await retireCurrentSigningKey(trx, now);
    const kid = await storeNewCurrentKey(ctx, trx, alg, now);
    const deleted = await deleteRetiredSigningKeys(trx, now - PREVIOUS_KEY_RETENTION_MS);
    const previous = (await listSigningKeys(trx)).filter((k) => k.status === 'previous').map((k) => k.kid);
    await recordAudit(
      trx,
      {
        orgId: null,
        actor,
        action: 'oauth.signingKey.rotate',
        target: `signingKey:${kid}`,
        details: { before: { current: retired ?? null }, after: { current: kid, alg, previous, deleted } },
      },
      now,
    );
    return { current: { kid, alg }, previous, deleted };
  });
}

/** Public view for the CLI: never the private part. */
export async function listSigningKeyViews(ctx: AppContext) {
  return (await listSigningKeys(ctx.database.db)).map((k) => ({
    kid: k.kid,
    alg: k.alg,
    status: k.status,
    createdAt: new Date(k.createdAt).toISOString(),
    retiredAt: k.retiredAt === null ? null : new Date(k.retiredAt).toISOString(),
  }));
}
