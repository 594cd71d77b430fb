/**
 * Per-client-address rate limits on the sign-in endpoints (R-OPS-3): FEDBRIDGE_RATE_LIMIT
 * requests per minute per address on each limited endpoint; 0 turns limiting off (behind a
 * gateway that limits already, or for benchmarks). The client address is Express's `req.ip`,
 * so it follows FEDBRIDGE_TRUST_PROXY; IPv6 clients are grouped by /56 (express-rate-limit's
 * default), since one host usually owns a whole prefix.
 *
 * Counters live in this process: with several instances each allows the limit, which bounds
 * abuse as well and needs no shared store on the hot ACS path.
 */
import type { Request, RequestHandler, Response } from 'express';
import { rateLimit } from 'express-rate-limit';

/** What a limited client is told; the status is already 429 and Cache-Control no-store. */
export type RateLimitAnswer = (req: Request, res: Response) => void;

const tooManySignIns: RateLimitAnswer = (_req, res) => {
  res.type('text/plain').send('Too many sign-in requests from your address; try again in a minute.\n');
};

export function perClientRateLimit(perMinute: number, answer: RateLimitAnswer = tooManySignIns): RequestHandler {
  if (perMinute <= 0) return (_req, _res, next) => next();
  return rateLimit({
    windowMs: 60_000,
    limit: perMinute,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    handler: (req, res) => {
      res.status(429).set('Cache-Control', 'no-store');
      answer(req, res);
    },
  });
}
