/**
 * xs:dateTime instants of SAML (saml-core §1.3.3): read strictly, so a malformed time is a
 * refusal and never a silent NaN that would make every comparison false (and a check pass).
 */
import type { Element } from '@xmldom/xmldom';
import { attributeValue } from '../../xml/dom.js';
import { SsoError } from '../sso-error.js';

// YYYY-MM-DDThh:mm:ss, optional fraction, then Z or an offset (SAML says UTC; offsets are still unambiguous).
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** Milliseconds since the epoch of an xs:dateTime, or undefined when it is not one. */
export function parseSamlInstant(value: string): number | undefined {
  const m = DATE_TIME.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, fraction, zone] = m;
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = fraction ? Math.floor(Number(`0${fraction}`) * 1000) : 0;
  let t = Date.UTC(Number(y), month - 1, day, hour, minute, second, ms);
  // Date.UTC rolls 31 February over into March: refuse what does not round-trip.
  const check = new Date(t);
  if (check.getUTCDate() !== day || check.getUTCMonth() !== month - 1) return undefined;
  if (zone && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const offsetHours = Number(zone.slice(1, 3));
    const offsetMinutes = Number(zone.slice(4, 6));
    if (offsetHours > 14 || offsetMinutes > 59) return undefined;
    t -= sign * (offsetHours * 60 + offsetMinutes) * 60_000;
  }
  return t;
}

/**
 * The instant in attribute `name` of `el`: undefined when absent; SSO_MALFORMED when present
 * but not an xs:dateTime.
 */
export function readInstantAttribute(el: Element, name: string): number | undefined {
  const raw = attributeValue(el, name);
  if (raw === null) return undefined;
  const t = parseSamlInstant(raw);
  if (t === undefined) throw new SsoError('SSO_MALFORMED', `${el.localName}@${name} is not an xs:dateTime`);
  return t;
}
