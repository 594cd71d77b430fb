import assert from 'node:assert/strict';
import { parseUpdateTimeStamp } from '../../../src/accounts/update-timestamp.js';

const T = Date.UTC(2013, 9, 30, 13, 7, 7); // 2013-10-30T13:07:07Z

describe('accounts/update-timestamp', () => {
  const valid: Array<[string, string, number]> = [
    ['epoch millis', '1383138427000', T],
    ['epoch millis with surrounding blanks', ' 1383138427123 ', T + 123],
    ['ten digits are seconds', '1383138427', T],
    ['eleven digits are millis', '13831384270', 13831384270],
    ['zero', '0', 0],
    ['ISO-8601 UTC', '2013-10-30T13:07:07Z', T],
    ['ISO-8601 lower-case t/z', '2013-10-30t13:07:07z', T],
    ['ISO-8601 millis', '2013-10-30T13:07:07.250Z', T + 250],
    ['ISO-8601 micro fraction truncated', '2013-10-30T13:07:07.123456Z', T + 123],
    ['ISO-8601 comma fraction', '2013-10-30T13:07:07,5Z', T + 500],
    ['ISO-8601 +02:00 offset', '2013-10-30T15:07:07+02:00', T],
    ['ISO-8601 -0530 offset', '2013-10-30T07:37:07-0530', T],
    ['ISO-8601 +01 offset', '2013-10-30T14:07:07+01', T],
    ['ISO-8601 without seconds', '2013-10-30T13:07Z', T - 7000],
    ['ISO-8601 without zone is UTC', '2013-10-30T13:07:07', T],
    ['ISO-8601 leap day', '2012-02-29T00:00:00Z', Date.UTC(2012, 1, 29)],
    ['LDIF AD whenChanged', '20131030130707.0Z', T],
    ['LDIF without fraction', '20131030130707Z', T],
    ['LDIF fraction of seconds', '20131030130707.25Z', T + 250],
    ['LDIF comma fraction', '20131030130707,5Z', T + 500],
    ['LDIF with offset', '20131030150707+0200', T],
    ['LDIF with negative hour offset', '20131030080707-05', T],
    ['LDIF minutes only', '201310301307Z', T - 7000],
    ['LDIF fraction of a minute', '201310301307.5Z', T - 7000 + 30_000],
    ['LDIF hours only with fraction', '2013103013.5Z', Date.UTC(2013, 9, 30, 13, 30)],
    ['LDIF early year not shifted to 1900s', '00500101000000Z', new Date('0050-01-01T00:00:00Z').getTime()],
  ];
  for (const [label, input, expected] of valid) {
    it(`parses ${label}: ${JSON.stringify(input)}`, () => {
      assert.equal(parseUpdateTimeStamp(input), expected);
    });
  }

  const garbage: Array<[string, string]> = [
    ['empty', ''],
    ['blank', '   '],
    ['words', 'yesterday'],
    ['negative number', '-1383138427000'],
    ['decimal number', '1383138427.5'],
    ['fourteen digits (zone-less generalized time / year 2608 in ms)', '20131030130707'],
    ['huge number', '99999999999999999999'],
    ['month 13', '2013-13-30T13:07:07Z'],
    ['30 February', '2013-02-30T13:07:07Z'],
    ['29 February in a common year', '2013-02-29T00:00:00Z'],
    ['hour 24', '2013-10-30T24:00:00Z'],
    ['minute 60', '2013-10-30T13:60:07Z'],
    ['offset hour 24', '2013-10-30T13:07:07+24:00'],
    ['date only', '2013-10-30'],
    ['ISO with trailing text', '2013-10-30T13:07:07Zjunk'],
    ['LDIF without zone but with fraction', '20131030130707.0'],
    ['LDIF month 00', '20130030130707Z'],
    ['LDIF bad offset', '20131030130707+2500'],
    ['RFC 2822 date', 'Wed, 30 Oct 2013 13:07:07 GMT'],
  ];
  for (const [label, input] of garbage) {
    it(`refuses ${label}: ${JSON.stringify(input)}`, () => {
      assert.equal(parseUpdateTimeStamp(input), null);
    });
  }

  it('all three formats of the same instant agree', () => {
    const values = ['1383138427000', '1383138427', '2013-10-30T13:07:07Z', '20131030130707.0Z'].map(parseUpdateTimeStamp);
    assert.deepEqual(new Set(values), new Set([T]));
  });
});
