import assert from 'node:assert/strict';
import { parseSamlInstant } from '../../../../src/saml/acs/saml-instant.js';

/** xs:dateTime is read strictly: a malformed time must never become NaN and pass a comparison. */
describe('ACS parseSamlInstant', () => {
  const valid: Array<[string, number]> = [
    ['2026-06-01T12:00:00Z', Date.UTC(2026, 5, 1, 12)],
    ['2026-06-01T12:00:00.5Z', Date.UTC(2026, 5, 1, 12, 0, 0, 500)],
    ['2026-06-01T12:00:00.123456789Z', Date.UTC(2026, 5, 1, 12, 0, 0, 123)],
    ['2026-06-01T14:00:00+02:00', Date.UTC(2026, 5, 1, 12)],
    ['2026-06-01T07:30:00-04:30', Date.UTC(2026, 5, 1, 12)],
    ['2028-02-29T00:00:00Z', Date.UTC(2028, 1, 29)],
    [' 2026-06-01T12:00:00Z\n', Date.UTC(2026, 5, 1, 12)],
  ];
  for (const [text, ms] of valid) {
    it(`reads ${JSON.stringify(text)}`, () => assert.equal(parseSamlInstant(text), ms));
  }
  const invalid = [
    '',
    'tomorrow',
    '2026-06-01',
    '2026-06-01T12:00:00',
    '2026-06-01 12:00:00Z',
    '2026-13-01T12:00:00Z',
    '2026-02-30T12:00:00Z',
    '2027-02-29T00:00:00Z',
    '2026-06-01T24:00:00Z',
    '2026-06-01T12:60:00Z',
    '2026-06-01T12:00:60Z',
    '2026-06-01T12:00:00+15:00',
    '+02026-06-01T12:00:00Z',
    '2026-06-01T12:00:00.Z',
    '1780315200000',
  ];
  for (const text of invalid) {
    it(`refuses ${JSON.stringify(text)}`, () => assert.equal(parseSamlInstant(text), undefined));
  }
});
