import assert from 'node:assert/strict';
import {
  ATTRIBUTE_NAMES,
  ATTRIBUTE_TABLE,
  REQUIRED_ATTRIBUTES,
  builtinAttributeFor,
  mapAttributes,
  resolveAttributeName,
  validateAttributeMap,
  type AttributeName,
} from '../../../src/accounts/attribute-mapper.js';
import { SsoError } from '../../../src/saml/sso-error.js';

const attr = (name: string, ...values: string[]) => ({ name, values });

describe('accounts/attribute-mapper', () => {
  describe('table', () => {
    it('has every attribute of the guide, in its order, with the four required ones', () => {
      assert.deepEqual(ATTRIBUTE_TABLE.map((d) => d.name), [...ATTRIBUTE_NAMES]);
      assert.equal(ATTRIBUTE_NAMES.length, 23);
      assert.deepEqual(ATTRIBUTE_TABLE.filter((d) => d.required).map((d) => d.name), [...REQUIRED_ATTRIBUTES]);
      assert.deepEqual([...REQUIRED_ATTRIBUTES], ['uid', 'firstname', 'lastname', 'email']);
    });

    it('maps no synonym to two attributes and never to role', () => {
      const seen = new Map<string, AttributeName>();
      for (const def of ATTRIBUTE_TABLE) {
        for (const s of [def.name, ...def.synonyms]) {
          const prev = seen.get(s.toLowerCase());
          assert.ok(prev === undefined || prev === def.name, `${s} used by ${prev} and ${def.name}`);
          seen.set(s.toLowerCase(), def.name);
          assert.equal(builtinAttributeFor(s), def.name);
        }
      }
      for (const roleClaim of ['role', 'roles', 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role', 'groups']) {
        assert.equal(builtinAttributeFor(roleClaim), null);
      }
    });
  });

  describe('every canonical name, any case', () => {
    for (const name of ATTRIBUTE_NAMES) {
      for (const spelled of [name, name.toUpperCase(), name.toLowerCase()]) {
        it(`${spelled} → ${name}`, () => {
          const m = mapAttributes([attr(spelled, 'v')]);
          assert.deepEqual(m.attributes, { [name]: 'v' });
          assert.equal(m.sources[name], spelled);
          assert.deepEqual(m.unmapped, []);
        });
      }
    }
  });

  describe('synonyms', () => {
    const cases: Array<[string, AttributeName]> = [
      // WS-Fed / ADFS / Entra claim URIs
      ['http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress', 'email'],
      ['http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname', 'firstname'],
      ['http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname', 'lastname'],
      ['http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn', 'uid'],
      ['http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name', 'uid'],
      ['HTTP://SCHEMAS.XMLSOAP.ORG/WS/2005/05/IDENTITY/CLAIMS/EMAILADDRESS', 'email'],
      ['http://schemas.microsoft.com/ws/2008/06/identity/claims/windowsaccountname', 'uid'],
      ['http://schemas.xmlsoap.org/claims/UPN', 'uid'],
      ['http://schemas.xmlsoap.org/claims/EmailAddress', 'email'],
      ['http://schemas.xmlsoap.org/claims/CommonName', 'displayName'],
      ['http://schemas.microsoft.com/identity/claims/displayname', 'displayName'],
      ['http://schemas.xmlsoap.org/ws/2005/05/identity/claims/streetaddress', 'streetLine1'],
      ['http://schemas.xmlsoap.org/ws/2005/05/identity/claims/locality', 'city'],
      ['http://schemas.xmlsoap.org/ws/2005/05/identity/claims/stateorprovince', 'state'],
      ['http://schemas.xmlsoap.org/ws/2005/05/identity/claims/postalcode', 'zipcode'],
      ['http://schemas.xmlsoap.org/ws/2005/05/identity/claims/country', 'ISOCountry'],
      ['http://schemas.xmlsoap.org/ws/2005/05/identity/claims/mobilephone', 'mobilePhone'],
      // LDAP OIDs
      ['urn:oid:0.9.2342.19200300.100.1.3', 'email'],
      ['urn:oid:2.5.4.42', 'firstname'],
      ['urn:oid:2.5.4.4', 'lastname'],
      ['urn:oid:0.9.2342.19200300.100.1.1', 'uid'],
      ['urn:oid:2.16.840.1.113730.3.1.241', 'displayName'],
      ['urn:oid:2.5.4.12', 'jobTitle'],
      ['urn:oid:2.16.840.1.113730.3.1.3', 'employeeid'],
      ['urn:oid:2.5.4.10', 'companyName'],
      ['urn:oid:2.5.4.20', 'businessPhone'],
      ['urn:oid:0.9.2342.19200300.100.1.41', 'mobilePhone'],
      ['urn:oid:2.5.4.7', 'city'],
      ['urn:oid:2.5.4.8', 'state'],
      ['urn:oid:2.5.4.17', 'zipcode'],
      ['urn:oid:2.5.4.6', 'ISOCountry'],
      ['urn:oid:2.5.4.9', 'streetLine1'],
      ['urn:oid:2.5.4.23', 'businessFax'],
      ['urn:oid:2.5.18.2', 'updateTimeStamp'],
      ['URN:OID:2.5.4.42', 'firstname'],
      // plain LDAP / AD / Shibboleth 1.x names
      ['mail', 'email'],
      ['givenName', 'firstname'],
      ['sn', 'lastname'],
      ['surname', 'lastname'],
      ['title', 'jobTitle'],
      ['employeeNumber', 'employeeid'],
      ['o', 'companyName'],
      ['company', 'companyName'],
      ['telephoneNumber', 'businessPhone'],
      ['mobile', 'mobilePhone'],
      ['l', 'city'],
      ['st', 'state'],
      ['postalCode', 'zipcode'],
      ['c', 'ISOCountry'],
      ['userPrincipalName', 'uid'],
      ['whenChanged', 'updateTimeStamp'],
      ['urn:mace:dir:attribute-def:mail', 'email'],
      ['upgrade site', 'upgradesite'],
    ];
    for (const [name, target] of cases) {
      it(`${name} → ${target}`, () => {
        const m = mapAttributes([attr(name, 'v')]);
        assert.deepEqual(m.attributes, { [target]: 'v' });
        assert.equal(m.sources[target], name);
      });
    }
  });

  describe('precedence and values', () => {
    it('canonical name beats a synonym whatever the order', () => {
      for (const raw of [
        [attr('mail', 'from-mail@x.com'), attr('email', 'canonical@x.com')],
        [attr('email', 'canonical@x.com'), attr('mail', 'from-mail@x.com')],
      ]) {
        const m = mapAttributes(raw);
        assert.equal(m.attributes.email, 'canonical@x.com');
        assert.equal(m.sources.email, 'email');
        assert.ok(m.notes.some((n) => n.includes('"mail" ignored')));
      }
    });

    it('upn beats the generic name claim for uid', () => {
      const m = mapAttributes([
        attr('http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name', 'CORP\\jdoe'),
        attr('http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn', 'jdoe@corp.com'),
      ]);
      assert.equal(m.attributes.uid, 'jdoe@corp.com');
    });

    it('an empty attribute counts as absent, so a synonym fills in', () => {
      const m = mapAttributes([attr('email', '  '), attr('mail', 'a@x.com')]);
      assert.equal(m.attributes.email, 'a@x.com');
      assert.ok(m.notes.some((n) => n.includes('"email" is empty')));
      assert.deepEqual(mapAttributes([attr('email')]).attributes, {});
    });

    it('values are trimmed and the first non-empty one is used', () => {
      const m = mapAttributes([attr('city', '', '  Paris ', 'Lyon')]);
      assert.equal(m.attributes.city, 'Paris');
      assert.ok(m.notes.some((n) => n.includes('2 values')));
    });

    it('keeps unmapped attributes, values intact, for diagnostics', () => {
      const m = mapAttributes([attr('email', 'a@x.com'), attr('favouriteColour', 'blue', 'green'), attr('role', 'orgAdmin')]);
      assert.deepEqual(m.unmapped, [
        { name: 'favouriteColour', values: ['blue', 'green'] },
        { name: 'role', values: ['orgAdmin'] },
      ]);
      assert.equal(Object.keys(m.attributes).length, 1);
    });

    it('notes never contain attribute values', () => {
      const m = mapAttributes([attr('email', 'secret@x.com'), attr('mail', 'secret2@x.com'), attr('city', 'S1', 'S2')]);
      for (const n of m.notes) assert.ok(!/secret|S1|S2/.test(n), n);
    });
  });

  describe('org attributeMap', () => {
    it('maps a custom name, case-insensitively on both sides', () => {
      const m = mapAttributes([attr('CorpMail', 'a@x.com')], { attributeMap: { corpmail: 'EMAIL' } });
      assert.deepEqual(m.attributes, { email: 'a@x.com' });
    });

    it('wins over the canonical name and over a built-in synonym', () => {
      const m = mapAttributes([attr('email', 'canonical@x.com'), attr('primaryMail', 'org@x.com')], {
        attributeMap: { primaryMail: 'email' },
      });
      assert.equal(m.attributes.email, 'org@x.com');
      // upn is built-in uid; the org redirects it to email instead.
      const m2 = mapAttributes([attr('upn', 'jdoe@x.com'), attr('uid', 'jdoe')], { attributeMap: { upn: 'email' } });
      assert.deepEqual(m2.attributes, { uid: 'jdoe', email: 'jdoe@x.com' });
    });

    it('without a map the same custom name stays unmapped', () => {
      const m = mapAttributes([attr('CorpMail', 'a@x.com')]);
      assert.deepEqual(m.attributes, {});
      assert.equal(m.unmapped.length, 1);
    });

    it('refuses a map to an unknown attribute (no way to map into role) with SSO_CONFIG', () => {
      const bads: Array<Record<string, string>> = [{ x: 'role' }, { x: 'nonsense' }, { '  ': 'email' }, { Mail2: 'email', mail2: 'uid' }];
      for (const bad of bads) {
        assert.ok(validateAttributeMap(bad).length > 0, JSON.stringify(bad));
        assert.throws(
          () => mapAttributes([attr('x', 'orgAdmin')], { attributeMap: bad }),
          (e: unknown) => e instanceof SsoError && e.code === 'SSO_CONFIG',
        );
      }
      assert.deepEqual(validateAttributeMap({ a: 'email', b: 'isocountry' }), []);
    });
  });

  it('resolveAttributeName is case-insensitive and knows only our names', () => {
    assert.equal(resolveAttributeName('isocountry'), 'ISOCountry');
    assert.equal(resolveAttributeName(' UPDATETIMESTAMP '), 'updateTimeStamp');
    assert.equal(resolveAttributeName('mail'), null);
  });
});
