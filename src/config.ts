import { z } from 'zod';

/**
 * Configuration from environment variables (SPEC §10, R-OPS-3), validated once at start.
 * A bad value stops the process with one line naming the variable.
 */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  FEDBRIDGE_PUBLIC_URL: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .optional(),
  DATABASE_URL: z
    .string()
    .regex(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, 'must be sqlite:<path> or postgres://…')
    .default('sqlite:data/fedbridge.db'),
  FEDBRIDGE_MASTER_KEY: z
    .string()
    .regex(/^([0-9a-fA-F]{64}|[A-Za-z0-9+/_-]{43}=?)$/, 'must be 32 bytes as 64 hex characters or base64')
    .optional(),
  FEDBRIDGE_CERTS_DIR: z.string().min(1).default('certs'),
  FEDBRIDGE_BOOTSTRAP_ADMIN_KEY: z
    .string()
    .min(32, 'must be at least 32 characters')
    .max(256)
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
    .optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  FEDBRIDGE_RATE_LIMIT: z.coerce.number().int().min(0).default(300),
  FEDBRIDGE_TRUST_PROXY: booleanFlag.default(false),
  FEDBRIDGE_BODY_LIMIT_KB: z.coerce.number().int().min(16).max(10240).default(1024),
  FEDBRIDGE_METADATA_ALLOW_PRIVATE: booleanFlag.default(false),
});

export interface Config {
  port: number;
  publicUrl: string;
  databaseUrl: string;
  masterKey: string | undefined;
  certsDir: string;
  bootstrapAdminKey: string | undefined;
  logLevel: (typeof LOG_LEVELS)[number];
  rateLimitPerMinute: number;
  trustProxy: boolean;
  bodyLimitKb: number;
  metadataAllowPrivate: boolean;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings count as unset, as in most twelve-factor tools.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'environment');
    throw new ConfigError(`invalid configuration: ${variable} ${issue.message}`);
  }
  const e = parsed.data;
  const publicUrl = (e.FEDBRIDGE_PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  return {
    port: e.PORT,
    publicUrl,
    databaseUrl: e.DATABASE_URL,
    masterKey: e.FEDBRIDGE_MASTER_KEY,
    certsDir: e.FEDBRIDGE_CERTS_DIR,
    bootstrapAdminKey: e.FEDBRIDGE_BOOTSTRAP_ADMIN_KEY,
    logLevel: e.LOG_LEVEL,
    rateLimitPerMinute: e.FEDBRIDGE_RATE_LIMIT,
    trustProxy: e.FEDBRIDGE_TRUST_PROXY,
    bodyLimitKb: e.FEDBRIDGE_BODY_LIMIT_KB,
    metadataAllowPrivate: e.FEDBRIDGE_METADATA_ALLOW_PRIVATE,
  };
}
