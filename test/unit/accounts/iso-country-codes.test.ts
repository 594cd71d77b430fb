import assert from 'node:assert/strict';
import { ISO_3166_ALPHA2, normalizeIsoCountry } from '../../../src/accounts/iso-country-codes.js';

describe('accounts/iso-country-codes', () => {
  it('holds exactly the 249 assigned ISO 3166-1 alpha-2 codes', () => {
    assert.equal(ISO_3166_ALPHA2.size, 249);
    // Cross-check against ICU's region list, minus its codes that are not assigned ISO 3166-1
    // codes (reserved, withdrawn, or CLDR/UN specials).
    const notAssigned = new Set(
      'AC AN BU CP CQ CS DD DG DY EA EU EZ FX HV IC NH QO RH SU TA TP UK UN VD XA XB XK YD YU ZR ZZ'.split(' '),
    );
    const names = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
    const icu: string[] = [];
    for (let a = 65; a <= 90; a++) {
      for (let b = 65; b <= 90; b++) {
        const code = String.fromCharCode(a, b);
        if (names.of(code) && !notAssigned.has(code)) icu.push(code);
      }
    }
    assert.deepEqual([...ISO_3166_ALPHA2].sort(), icu);
  });

  const cases: Array<[string, string | null]> = [
    ['US', 'US'], ['us', 'US'], [' de ', 'DE'], ['SS', 'SS'], ['AX', 'AX'], ['BQ', 'BQ'],
    ['UK', null], ['EU', null], ['XK', null], ['YU', null], ['ZZ', null], ['USA', null], ['1', null], ['', null],
    ['United States', null],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} → ${expected}`, () => assert.equal(normalizeIsoCountry(input), expected));
  }
});
