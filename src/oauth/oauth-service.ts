/**
 * The running authorization server of one AppContext. oidc-provider takes its signing keys
 * at construction, so the provider is (re)built from the database's key set: on first use,
 * after a rotation made by this process, and when another instance (or the CLI) rotated —
 * checked at most every KEY_CHECK_INTERVAL_MS. All other state lives in the database, so a
 * rebuilt provider carries on every flow in progress.
 */
import { performance } from 'node:perf_hooks';
import type { Provider } from 'oidc-provider';
import type { AppContext } from '../app-context.js';
import { signingKeySetVersion } from '../store/oauth-signing-keys.js';
import type { BuiltProvider } from './provider.js';
import { loadSigningKeySet, rotateSigningKeys, type RotationResult, type SigningAlgorithm } from './signing-keys.js';

/** How stale another instance's rotation may be seen here (cache freshness, not protocol time). */
export const KEY_CHECK_INTERVAL_MS = 10_000;

interface Current {
  built: BuiltProvider;
  callback: ReturnType<Provider['callback']>;
  version: string;
  checkedAt: number;
}

export class OAuthService {
  #current: Current | undefined;
  #building: Promise<Current> | undefined;
  /** How long a key set is trusted before asking the database again (tests set 0). */
  keyCheckIntervalMs = KEY_CHECK_INTERVAL_MS;

  constructor(readonly app: AppContext) {}

  /** The provider to serve this request with. */
  async current(): Promise<Current> {
    const c = this.#current;
    if (c && performance.now() - c.checkedAt < this.keyCheckIntervalMs) return c;
    if (c) {
      const version = await signingKeySetVersion(this.app.database.db);
      if (version === c.version) {
        c.checkedAt = performance.now();
        return c;
      }
    }
    return this.rebuild();
  }

  async provider(): Promise<Provider> {
    return (await this.current()).built.provider;
  }

  /** Rebuilds from the stored keys (one build at a time). */
  rebuild(): Promise<Current> {
    this.#building ??= (async () => {
      try {
        // Loaded on first use: oidc-provider (and its Koa) is not needed to start the process,
        // the CLI, or a configuration error message, and it warns on import on Node 20.
        const { buildProvider } = await import('./provider.js');
        const keys = await loadSigningKeySet(this.app);
        const version = await signingKeySetVersion(this.app.database.db);
        const built = buildProvider(this.app, keys);
        const next: Current = { built, callback: built.provider.callback(), version, checkedAt: performance.now() };
        this.#current = next;
        return next;
      } finally {
        this.#building = undefined;
      }
    })();
    return this.#building;
  }

  /** Rotates the signing keys and serves with the new one at once. */
  async rotateKeys(actor: string, alg?: SigningAlgorithm): Promise<RotationResult> {
    const result = await rotateSigningKeys(this.app, actor, alg);
    await this.rebuild();
    return result;
  }
}

const services = new WeakMap<AppContext, OAuthService>();

/** The OAuth service of a context (one per context, built lazily). */
export function oauthService(app: AppContext): OAuthService {
  let s = services.get(app);
  if (!s) {
    s = new OAuthService(app);
    services.set(app, s);
  }
  return s;
}
