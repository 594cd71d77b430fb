import type { RequestHandler } from 'express';
import type { AppContext } from '../app-context.js';
import { authenticateApiKey } from '../admin/api-key-service.js';
import { ApiError } from '../admin/api-error.js';
import type { Principal } from '../admin/principal.js';

declare module 'express-serve-static-core' {
  interface Locals {
    principal?: Principal;
    requestId?: string;
  }
}

/** Bearer API keys (R-ADM-2): 401 without a valid key, before any handler runs. */
export function requireApiKey(ctx: AppContext): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) {
      res.set('WWW-Authenticate', 'Bearer realm="fedbridge"');
      return next(new ApiError(401, 'an API key is required: Authorization: Bearer <key>'));
    }
    const principal = await authenticateApiKey(ctx, match[1]!);
    if (!principal) {
      res.set('WWW-Authenticate', 'Bearer realm="fedbridge", error="invalid_token"');
      return next(new ApiError(401, 'the API key is unknown or revoked'));
    }
    res.locals.principal = principal;
    next();
  };
}

export function principalOf(res: { locals: { principal?: Principal } }): Principal {
  const p = res.locals.principal;
  if (!p) throw new ApiError(401, 'not authenticated');
  return p;
}
