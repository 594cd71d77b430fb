/**
 * oidc-provider's storage adapter on our database (R-OPS-2: any number of instances behave
 * as one). Every artifact is keyed by the SHA-256 of its id and stored without the id, so
 * the table holds no usable token, code or session id; the id is put back on read.
 *
 * `consume()` is a database check-and-set: of concurrent uses of one authorization code or
 * refresh token exactly one wins, the others get `invalid_grant` (R-OAUTH-2, R-OAUTH-4).
 * An authorization code is also bound to the OAuth session it was issued in (R-OAUTH-2): once
 * that session is gone (sign-out, deactivation, expiry) the code no longer exists.
 * Clients are read from the client registry (src/store/oauth-clients.ts), never written here.
 */
import Provider, { errors, type UnknownObject } from 'oidc-provider';
import type { Clock } from '../clock.js';
import type { Executor } from '../store/database.js';
import {
  consumeArtifact,
  destroyArtifact,
  destroyArtifactsOfGrant,
  findArtifact,
  findArtifactByUid,
  upsertArtifact,
  type StoredArtifact,
} from '../store/oauth-artifacts.js';
import { findOAuthClientWithSecret, type OAuthClientWithSecret } from '../store/oauth-clients.js';
import { artifactIdHash } from './oauth-paths.js';

/**
 * A refresh token presented again to the token endpoint this soon after its rotation is
 * taken for a client's own concurrent retry, not a theft: it is refused (`consume()` loses the
 * check-and-set) but does not trigger oidc-provider's reuse detection, which would revoke the
 * family — including the token the concurrent winner just received. Later presentations do
 * revoke the family. Everywhere else (introspection, revocation) a rotated token is consumed.
 */
export const REFRESH_REUSE_GRACE_MS = 5_000;

export interface StorageAdapterDeps {
  db: Executor;
  clock: Clock;
  /** oidc-provider client metadata for a registered client. */
  clientMetadata(client: OAuthClientWithSecret): UnknownObject;
}

/** The adapter interface oidc-provider calls (one instance per model name). */
export interface OidcAdapter {
  upsert(id: string, payload: UnknownObject, expiresIn?: number): Promise<void>;
  find(id: string): Promise<UnknownObject | undefined>;
  findByUid(uid: string): Promise<UnknownObject | undefined>;
  findByUserCode(userCode: string): Promise<UnknownObject | undefined>;
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

function stringOrNull(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

function isRefreshGrant(): boolean {
  const oidc = Provider.ctx?.oidc;
  return oidc?.route === 'token' && oidc.params.grant_type === 'refresh_token';
}

export function createStorageAdapter(deps: StorageAdapterDeps): new (model: string) => OidcAdapter {
  const { db, clock } = deps;

  function revive(model: string, id: string, stored: StoredArtifact, now: number): UnknownObject {
    const payload = JSON.parse(stored.payload) as UnknownObject;
    payload.jti = id;
    // oidc-provider reads `consumed` (epoch seconds) to detect reuse of a code or refresh token.
    const inGrace =
      model === 'RefreshToken' &&
      stored.consumedAt !== null &&
      now - stored.consumedAt < REFRESH_REUSE_GRACE_MS &&
      isRefreshGrant();
    if (stored.consumedAt !== null && !inGrace) payload.consumed = Math.floor(stored.consumedAt / 1000);
    return payload;
  }

  return class DatabaseAdapter implements OidcAdapter {
    constructor(readonly model: string) {}

    async upsert(id: string, payload: UnknownObject, expiresIn?: number): Promise<void> {
      if (this.model === 'Client') throw new Error('clients are registered through the admin API, not by oidc-provider');
      const now = clock.now();
      // The id is the credential: keep only its hash. `consumed` lives in its own column.
      const { jti: _jti, consumed: _consumed, ...rest } = payload;
      // An interaction names the browser's OAuth session by its id (a cookie value): keep a hash.
      const session = rest.session as { cookie?: unknown } | undefined;
      if (this.model === 'Interaction' && session && typeof session.cookie === 'string') {
        const { cookie, ...others } = session;
        rest.session = { ...others, cookieHash: artifactIdHash(cookie as string) };
      }
      await upsertArtifact(
        db,
        {
          model: this.model,
          idHash: artifactIdHash(id),
          payload: JSON.stringify(rest),
          grantIdHash: typeof payload.grantId === 'string' ? artifactIdHash(payload.grantId) : null,
          uidHash: this.model === 'Session' && typeof payload.uid === 'string' ? artifactIdHash(payload.uid) : null,
          accountId: stringOrNull(payload.accountId),
          clientId: stringOrNull(payload.clientId),
          expiresAt: typeof expiresIn === 'number' ? now + expiresIn * 1000 : null,
        },
        now,
      );
    }

    async find(id: string): Promise<UnknownObject | undefined> {
      if (typeof id !== 'string' || id === '') return undefined;
      if (this.model === 'Client') {
        const client = await findOAuthClientWithSecret(db, id);
        return client && deps.clientMetadata(client);
      }
      const now = clock.now();
      const stored = await findArtifact(db, this.model, artifactIdHash(id), now);
      if (!stored) return undefined;
      const payload = revive(this.model, id, stored, now);
      if (this.model === 'AuthorizationCode' && typeof payload.sessionUid === 'string') {
        const session = await findArtifactByUid(db, 'Session', artifactIdHash(payload.sessionUid), now);
        if (!session) return undefined;
      }
      return payload;
    }

    async findByUid(uid: string): Promise<UnknownObject | undefined> {
      if (typeof uid !== 'string' || uid === '') return undefined;
      const stored = await findArtifactByUid(db, this.model, artifactIdHash(uid), clock.now());
      if (!stored) return undefined;
      // The session id is not stored; a Session found by uid keeps its uid as id placeholder
      // only for reading (oidc-provider uses findByUid to check a session still exists).
      const payload = JSON.parse(stored.payload) as UnknownObject;
      payload.jti = `uid-lookup:${stored.idHash}`;
      return payload;
    }

    async findByUserCode(): Promise<UnknownObject | undefined> {
      return undefined; // the device flow is not enabled
    }

    async consume(id: string): Promise<void> {
      const won = await consumeArtifact(db, this.model, artifactIdHash(id), clock.now());
      if (!won) throw new errors.InvalidGrant(`${this.model} already used`);
    }

    async destroy(id: string): Promise<void> {
      await destroyArtifact(db, this.model, artifactIdHash(id));
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await destroyArtifactsOfGrant(db, this.model, artifactIdHash(grantId));
    }
  };
}
