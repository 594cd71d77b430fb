import type { ErrorRequestHandler, Response } from 'express';
import { ApiError } from '../admin/api-error.js';

/** Writes an RFC 9457 problem+json answer. */
export function sendProblem(res: Response, err: ApiError): void {
  res
    .status(err.status)
    .type('application/problem+json')
    .json({
      type: 'about:blank',
      title: err.title,
      status: err.status,
      detail: err.detail,
      errors: err.errors,
      ...(res.locals.requestId && { requestId: res.locals.requestId }),
    });
}

/**
 * The API's one error handler: known errors become problem+json; anything else is logged
 * with the request id and answered 500 without a stack trace.
 */
export const apiErrorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  if (err instanceof ApiError) return sendProblem(res, err);
  const e = err as { type?: string; status?: number; statusCode?: number };
  if (e.type === 'entity.too.large') return sendProblem(res, new ApiError(413, 'request body is too large'));
  if (e.type === 'entity.parse.failed') return sendProblem(res, new ApiError(400, 'request body is not valid JSON'));
  if (e.type === 'charset.unsupported' || e.type === 'encoding.unsupported') {
    return sendProblem(res, new ApiError(415, 'unsupported request encoding'));
  }
  req.log?.error({ err }, 'unhandled error in API request');
  return sendProblem(res, new ApiError(500, 'internal error; quote the request id to the operator'));
};
