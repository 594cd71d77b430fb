/**
 * Where the browser may be sent after sign-in (R-SAML-5): a relative path on this service, or
 * an http(s) URL on an allowed origin. Anything else falls back to the default target, so
 * `target`, RelayState and configured values can never make the bridge an open redirect.
 */

export interface TargetPolicy {
  /** Origins the organisation allows (default target URL's origin, OAuth redirect origins…). */
  allowedOrigins: readonly string[];
  /** Used whenever the candidate is absent or refused. Trusted (validated when configured). */
  defaultTarget: string;
  /** This service's own origin (from the public URL); always allowed. */
  serviceOrigin: string;
}

/** Longer than any sensible target; refusing it keeps logs and cookies small. */
const MAX_TARGET_LENGTH = 2048;

/**
 * C0 controls, space, DEL and backslash anywhere: browsers strip leading/trailing C0+space and
 * remove tab/CR/LF inside URLs, and treat `\` as `/` in http(s) URLs, so any of these lets a
 * string that looks like a path (`/\evil.com`, `/\t/evil.com`) resolve to another host.
 */
const FORBIDDEN_CHARACTERS = /[\u0000-\u0020\u007f\\]/;

function originOf(value: string): string | undefined {
  try {
    const url = new URL(value);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}

/**
 * Returns `candidate` when it is a safe target, else `policy.defaultTarget`. A relative path is
 * returned unchanged (a normalized form could start with `//`: `/..//evil.com`); an absolute
 * URL is returned in its normalized form.
 */
export function resolveSafeTarget(candidate: string | undefined, policy: TargetPolicy): string {
  return checkTarget(candidate, policy) ?? policy.defaultTarget;
}

/** The safe form of `candidate`, or undefined when it must not be followed. */
export function checkTarget(candidate: string | undefined, policy: TargetPolicy): string | undefined {
  if (typeof candidate !== 'string' || candidate === '' || candidate.length > MAX_TARGET_LENGTH) return undefined;
  if (FORBIDDEN_CHARACTERS.test(candidate)) return undefined;

  const serviceOrigin = originOf(policy.serviceOrigin);
  if (candidate.startsWith('/')) {
    // `//host` is scheme-relative: another origin. (`/\host` is caught above.)
    if (candidate.startsWith('//')) return undefined;
    if (!serviceOrigin) return undefined;
    try {
      // Belt and braces: the path must resolve on the service's own origin.
      if (new URL(candidate, serviceOrigin).origin !== serviceOrigin) return undefined;
    } catch {
      return undefined;
    }
    return candidate;
  }

  // Absolute: only an explicit http(s) scheme. `javascript:`, `data:`, `evil.com`, `//x` fail.
  if (!/^https?:\/\//i.test(candidate)) return undefined;
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return undefined;
  }
  // Credentials in a target are a phishing device (`https://good.com@evil.com` has host
  // evil.com; `https://user@good.com` would be allowed by origin but is never legitimate).
  if (url.username !== '' || url.password !== '') return undefined;

  const allowed = new Set<string>();
  if (serviceOrigin) allowed.add(serviceOrigin);
  const defaultOrigin = originOf(policy.defaultTarget);
  if (defaultOrigin) allowed.add(defaultOrigin);
  for (const origin of policy.allowedOrigins) {
    const normalized = originOf(origin);
    if (normalized) allowed.add(normalized);
  }
  return allowed.has(url.origin) ? url.href : undefined;
}
