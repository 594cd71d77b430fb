/**
 * `updateTimeStamp` parsing (R-ACC-4; guide: "Supports long value, UTC time format, & LDIF time
 * format"). Auto account update compares this value with the stored one, so a wrong parse is not
 * harmless: a value read as far in the future would block every later update. Anything
 * ambiguous is therefore refused (null) rather than guessed.
 */

const EPOCH_DIGITS = /^\d{1,13}$/;

// 2013-10-30T13:07:07Z, with optional seconds, fraction (. or ,) and zone (Z, ±hh, ±hhmm, ±hh:mm).
const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)?$/;

// RFC 4517 GeneralizedTime: yyyymmddhh[mm[ss]][(.|,)fraction](Z|±hh[mm]); AD whenChanged is
// 20131030130707.0Z. The fraction belongs to the last unit present.
const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(?:(\d{2})(\d{2})?)?(?:[.,](\d+))?([Zz]|[+-]\d{2}(?:\d{2})?)$/;

/** Epoch milliseconds, or null when `value` is in none of the accepted formats. */
export function parseUpdateTimeStamp(value: string): number | null {
  const s = value.trim();
  if (s === '') return null;
  if (/^\d+$/.test(s)) return parseEpoch(s);
  return parseIso8601(s) ?? parseGeneralizedTime(s);
}

function parseEpoch(s: string): number | null {
  // More than 13 digits is past year 2286 in milliseconds — or a zone-less generalized time
  // (20131030130707); neither can be trusted.
  if (!EPOCH_DIGITS.test(s)) return null;
  const n = Number(s);
  // Ten digits is the seconds form (2001-09-09 … 2286-11-20); everything else is milliseconds.
  return s.length === 10 ? n * 1000 : n;
}

function parseIso8601(s: string): number | null {
  const m = ISO_8601.exec(s);
  if (!m) return null;
  const [, y, mo, d, h, mi, sec, frac, zone] = m;
  const fractionMs = frac === undefined ? 0 : Math.floor(Number(`0.${frac}`) * 1000);
  // The guide calls this the "UTC time format", so a value without a zone is read as UTC —
  // never as the server's local time, which would make the result depend on the host.
  return buildUtc(num(y), num(mo), num(d), num(h), num(mi), sec === undefined ? 0 : num(sec), fractionMs, zone);
}

function parseGeneralizedTime(s: string): number | null {
  const m = GENERALIZED_TIME.exec(s);
  if (!m) return null;
  const [, y, mo, d, h, mi, sec, frac, zone] = m;
  const fraction = frac === undefined ? 0 : Number(`0.${frac}`);
  const unitMs = sec !== undefined ? 1000 : mi !== undefined ? 60_000 : 3_600_000;
  return buildUtc(
    num(y), num(mo), num(d), num(h),
    mi === undefined ? 0 : num(mi),
    sec === undefined ? 0 : num(sec),
    Math.floor(fraction * unitMs),
    zone,
  );
}

function num(s: string | undefined): number {
  return Number(s);
}

function buildUtc(
  year: number, month: number, day: number, hour: number, minute: number, second: number,
  extraMs: number, zone: string | undefined,
): number | null {
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  // Second 60 is a leap second (allowed by both ISO 8601 and GeneralizedTime).
  if (hour > 23 || minute > 59 || second > 60) return null;
  const offset = zoneOffsetMinutes(zone);
  if (offset === null) return null;
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0–99 to 1900–1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  const ms = date.getTime() + extraMs - offset * 60_000;
  return Number.isFinite(ms) ? ms : null;
}

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
}

/** Minutes east of UTC; null when out of range. */
function zoneOffsetMinutes(zone: string | undefined): number | null {
  if (zone === undefined || zone === 'Z' || zone === 'z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
  if (hours > 23 || minutes > 59) return null;
  return sign * (hours * 60 + minutes);
}
