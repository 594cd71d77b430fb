/**
 * The one error type of the admin API, CLI and console (ARCHITECTURE: errors). It maps to
 * RFC 9457 problem+json; `errors` names the offending fields.
 */
export interface FieldError {
  field: string;
  message: string;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly title: string;
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly errors: FieldError[] = [],
  ) {
    super(detail);
    this.title = TITLES[status] ?? 'Error';
  }

  static invalid(field: string, message: string): ApiError {
    return new ApiError(422, `${field}: ${message}`, [{ field, message }]);
  }
  static notFound(what: string): ApiError {
    return new ApiError(404, `${what} not found`);
  }
  static conflict(detail: string, field?: string): ApiError {
    return new ApiError(409, detail, field ? [{ field, message: detail }] : []);
  }
  static forbidden(detail: string): ApiError {
    return new ApiError(403, detail);
  }
}
