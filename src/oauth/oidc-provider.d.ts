/**
 * The part of oidc-provider 9's API fedbridge uses (the package ships no types and
 * @types/oidc-provider is not installed). Loose where oidc-provider's objects are open-ended.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export type UnknownObject = Record<string, any>;

  export interface OIDCContext {
    readonly provider: Provider;
    readonly issuer: string;
    readonly route: string;
    readonly params: UnknownObject & { scope?: string; resource?: string | string[] };
    readonly client?: ClientInstance;
    readonly session?: SessionInstance;
    readonly entities: UnknownObject;
    readonly account?: UnknownObject;
    readonly requestParamScopes: Set<string>;
    entity(name: string, value: unknown): void;
    urlFor(name: string, opts?: UnknownObject): string;
    promptPending(name: string): boolean;
  }

  export interface KoaContextWithOIDC {
    oidc: OIDCContext;
    method: string;
    path: string;
    status: number;
    body: any;
    type: string;
    cookies: { get(name: string, opts?: { signed?: boolean }): string | undefined };
    get(header: string): string;
    set(header: string, value: string): void;
  }

  export type KoaMiddleware = (ctx: KoaContextWithOIDC, next: () => Promise<void>) => Promise<void> | void;

  export interface ClientInstance {
    clientId: string;
    clientSecret?: string;
    clientName?: string;
    scope?: string;
    applicationType: 'web' | 'native';
    clientAuthMethod: string;
    redirectUris: string[];
    grantTypeAllowed(type: string): boolean;
    compareClientSecret(actual: string): Promise<boolean> | boolean;
  }

  export interface BaseModelInstance {
    jti: string;
    iat?: number;
    exp?: number;
    readonly remainingTTL: number;
    readonly isExpired: boolean;
    save(ttl?: number): Promise<string>;
    destroy(): Promise<void>;
  }

  export interface GrantInstance extends BaseModelInstance {
    accountId: string;
    clientId: string;
    addOIDCScope(scope: string | string[] | Set<string>): void;
    addOIDCClaims(claims: string[]): void;
    addResourceScope(resource: string, scope: string | string[] | Set<string>): void;
    getOIDCScope(): string;
    getResourceScopeFiltered(resource: string, scopes: Iterable<string>): string;
  }

  export interface TokenInstance extends BaseModelInstance {
    accountId?: string;
    clientId: string;
    grantId?: string;
    scope?: string;
    aud?: string;
    gty?: string;
    resource?: string | string[];
    resourceServer?: ResourceServerInstance;
    readonly expiration: number;
    readonly tokenType: string;
    readonly scopes: Set<string>;
    readonly kind: string;
    readonly extra?: UnknownObject;
  }

  export interface SessionInstance extends BaseModelInstance {
    uid: string;
    accountId?: string;
  }

  export interface ResourceServerInstance {
    readonly scopes: Set<string>;
    identifier(): string;
  }

  export interface InteractionPrompt {
    name: string;
    reasons: string[];
    details: UnknownObject & {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
  }

  export interface Interaction extends BaseModelInstance {
    uid: string;
    prompt: InteractionPrompt;
    params: UnknownObject & { client_id: string; scope?: string; login_hint?: string; org?: string; redirect_uri?: string };
    /** `cookieHash` replaces oidc-provider's `cookie` (the session id) in our storage. */
    session?: { accountId: string; uid?: string; cookie?: string; cookieHash?: string };
    grantId?: string;
    returnTo: string;
    persist(): Promise<string>;
  }

  export interface ModelStatic<T> {
    new (payload?: UnknownObject): T;
    find(id: string, opts?: UnknownObject): Promise<T | undefined>;
    readonly adapter: UnknownObject;
  }

  export class Provider {
    constructor(issuer: string, configuration?: UnknownObject);
    readonly issuer: string;
    proxy: boolean;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    use(middleware: KoaMiddleware): this;
    on(event: string, listener: (...args: any[]) => void): this;
    registerGrantType(name: string, handler: (ctx: KoaContextWithOIDC) => Promise<void>, params?: Iterable<string> | string, dupes?: Iterable<string> | string): void;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
    interactionFinished(req: IncomingMessage, res: ServerResponse, result: UnknownObject, opts?: { mergeWithLastSubmission?: boolean }): Promise<void>;
    interactionResult(req: IncomingMessage, res: ServerResponse, result: UnknownObject, opts?: { mergeWithLastSubmission?: boolean }): Promise<string>;
    urlFor(name: string, opts?: UnknownObject): string;
    readonly Client: ModelStatic<ClientInstance> & { prototype: ClientInstance; validate(metadata: UnknownObject): Promise<void> };
    readonly Grant: ModelStatic<GrantInstance>;
    readonly AccessToken: ModelStatic<TokenInstance>;
    readonly RefreshToken: ModelStatic<TokenInstance>;
    readonly AuthorizationCode: ModelStatic<TokenInstance>;
    readonly Session: ModelStatic<SessionInstance>;
    readonly Interaction: ModelStatic<Interaction>;
    readonly ResourceServer: new (identifier: string, info: UnknownObject) => ResourceServerInstance;
    /** The request being handled (oidc-provider keeps it in an AsyncLocalStorage). */
    static readonly ctx: KoaContextWithOIDC | undefined;
  }

  export default Provider;

  export namespace errors {
    class OIDCProviderError extends Error {
      error: string;
      error_description?: string;
      status: number;
      statusCode: number;
    }
    /** An RFC 6749 error with a description of our choosing (oidc-provider's InvalidGrant has a fixed one). */
    class CustomOIDCProviderError extends OIDCProviderError {
      constructor(error: string, description?: string);
    }
    class InvalidGrant extends OIDCProviderError {
      constructor(detail?: string);
    }
    class InvalidRequest extends OIDCProviderError {
      constructor(description?: string, code?: number);
    }
    class InvalidClient extends OIDCProviderError {
      constructor(description?: string, detail?: string);
    }
    class InvalidClientAuth extends OIDCProviderError {
      constructor(detail?: string);
    }
    class InvalidScope extends OIDCProviderError {
      constructor(description: string, scope: string);
    }
    class InvalidTarget extends OIDCProviderError {
      constructor(description?: string);
    }
    class InvalidClientMetadata extends OIDCProviderError {
      constructor(description: string);
    }
    class UnauthorizedClient extends OIDCProviderError {
      constructor(description?: string);
    }
    class AccessDenied extends OIDCProviderError {
      constructor(description?: string);
    }
  }

  export namespace interactionPolicy {
    class Check {
      constructor(reason: string, description: string, check: (ctx: KoaContextWithOIDC) => boolean | Promise<boolean>);
      static REQUEST_PROMPT: true;
      static NO_NEED_TO_PROMPT: false;
    }
    interface Prompt {
      name: string;
      checks: Check[] & { add(check: Check, index?: number): void };
    }
    function base(): Prompt[] & { get(name: string): Prompt | undefined };
  }
}
