import { z } from 'zod';

/** A DNS name, lower-cased: an org slug is its primary domain (R-ORG-1). */
const DOMAIN_RE = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;

export const domainName = z
  .string()
  .trim()
  .toLowerCase()
  .regex(DOMAIN_RE, 'must be a domain name such as example.com');

const domainList = z
  .array(domainName)
  .max(100, 'at most 100 domains')
  .transform((ds) => [...new Set(ds)]);

export const createOrgSchema = z
  .object({
    slug: domainName,
    name: z.string().trim().min(1, 'must not be empty').max(200),
    domains: domainList.default([]),
    ssoEnabled: z.boolean().optional(),
    delegatedAuthOrg: z.boolean().optional(),
    imLoggingEnabled: z.boolean().optional(),
  })
  .strict();
export type CreateOrgInput = z.infer<typeof createOrgSchema>;

export const patchOrgSchema = z
  .object({
    name: z.string().trim().min(1, 'must not be empty').max(200).optional(),
    domains: domainList.optional(),
    ssoEnabled: z.boolean().optional(),
    delegatedAuthOrg: z.boolean().optional(),
    imLoggingEnabled: z.boolean().optional(),
  })
  .strict();
export type PatchOrgInput = z.infer<typeof patchOrgSchema>;
