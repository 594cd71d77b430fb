import pino, { type DestinationStream, type Logger } from 'pino';

/**
 * JSON logs (R-OPS-3). Secrets never reach a log line: credentials and key material are
 * redacted by path, and code logs reasons and ids, never assertions or keys.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.key',
  '*.apiKey',
  '*.privateKey',
  '*.secret',
  '*.clientSecret',
  '*.token',
  '*.refreshToken',
  '*.SAMLResponse',
  '*.SAMLRequest',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'fedbridge' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
