import assert from 'node:assert/strict';
import { mapAttributes, type MappedAttributes } from '../../../src/accounts/attribute-mapper.js';
import {
  accountLookupKey,
  decideProvisioning,
  emailDomain,
  stripUidDomainSuffix,
  type ExistingAccount,
  type ProvisioningDecision,
  type ProvisioningInput,
} from '../../../src/accounts/provisioning-rules.js';
import { SsoError, type SsoErrorCode } from '../../../src/saml/sso-error.js';

const T = Date.UTC(2013, 9, 30, 13, 7, 7); // 2013-10-30T13:07:07Z
const REQUIRED = { uid: 'jdoe@example.com', firstname: 'John', lastname: 'Doe', email: 'jdoe@example.com' };
const CONFIG = { autoAccountCreation: true, autoAccountUpdate: true, removeUidDomainSuffix: false };
const ORG = { domains: ['example.com', 'Example.ORG'], imLoggingEnabled: false };

function mapped(attrs: Record<string, string>): MappedAttributes {
  return mapAttributes(Object.entries(attrs).map(([name, value]) => ({ name, values: [value] })));
}

function account(over: Partial<ExistingAccount> = {}): ExistingAccount {
  return {
    id: 'acc-1',
    uid: 'jdoe@example.com',
    email: 'jdoe@example.com',
    firstname: 'John',
    lastname: 'Doe',
    status: 'active',
    role: 'member',
    ssoId: null,
    attributes: {},
    updateTimeStamp: T,
    ...over,
  };
}

interface Case {
  existing?: ExistingAccount | null;
  attrs?: Record<string, string>;
  org?: Partial<ProvisioningInput['org']>;
  config?: Partial<ProvisioningInput['config']>;
}

function decide(c: Case): ProvisioningDecision {
  return decideProvisioning({
    existing: c.existing ?? null,
    mapped: mapped(c.attrs ?? REQUIRED),
    nameId: 'jdoe@example.com',
    org: { ...ORG, ...c.org },
    config: { ...CONFIG, ...c.config },
  });
}

function assertSsoError(fn: () => unknown, code: SsoErrorCode, detail?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SsoError, `expected SsoError, got ${String(e)}`);
    assert.equal(e.code, code);
    if (detail !== undefined) assert.equal(e.detail, detail);
    return true;
  });
}

function expectAction<A extends ProvisioningDecision['action']>(
  d: ProvisioningDecision,
  action: A,
): Extract<ProvisioningDecision, { action: A }> {
  assert.equal(d.action, action);
  return d as Extract<ProvisioningDecision, { action: A }>;
}

describe('accounts/provisioning-rules', () => {
  describe('accountLookupKey (R-ACC-2)', () => {
    it('uses ssoid when present', () => {
      assert.deepEqual(accountLookupKey(mapped({ ...REQUIRED, ssoid: 'S-1' }), 'nameid@x'), { by: 'ssoid', value: 'S-1' });
    });
    it('falls back to NameID (also when ssoid is empty)', () => {
      assert.deepEqual(accountLookupKey(mapped(REQUIRED), 'nameid@x'), { by: 'nameId', value: 'nameid@x' });
      assert.deepEqual(accountLookupKey(mapped({ ssoid: ' ' }), 'nameid@x'), { by: 'nameId', value: 'nameid@x' });
    });
  });

  describe('creation (R-ACC-3)', () => {
    it('creates an active plain member with the mapped fields and stores the timestamp', () => {
      const d = expectAction(
        decide({ attrs: { ...REQUIRED, ssoid: 'S-1', updateTimeStamp: '20131030130707.0Z', city: 'Paris', jobTitle: 'Dev' } }),
        'create',
      );
      assert.deepEqual(d.fields, {
        uid: 'jdoe@example.com',
        email: 'jdoe@example.com',
        firstname: 'John',
        lastname: 'Doe',
        ssoId: 'S-1',
        attributes: { city: 'Paris', jobTitle: 'Dev' },
        updateTimeStamp: T,
        role: 'member',
        status: 'active',
      });
      assert.deepEqual(d.warnings, []);
    });

    it('creates a member even when the assertion claims an admin role', () => {
      const d = expectAction(
        decide({
          attrs: { ...REQUIRED, role: 'orgAdmin', 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role': 'userAdmin' },
        }),
        'create',
      );
      assert.equal(d.fields.role, 'member');
      assert.deepEqual(d.fields.attributes, {});
    });

    for (const name of ['uid', 'firstname', 'lastname', 'email'] as const) {
      it(`refuses without ${name}, naming it`, () => {
        const { [name]: _dropped, ...rest } = REQUIRED;
        assertSsoError(() => decide({ attrs: rest }), 'SSO_MISSING_ATTRIBUTE', name);
      });
      it(`refuses with an empty ${name}, naming it`, () => {
        assertSsoError(() => decide({ attrs: { ...REQUIRED, [name]: '   ' } }), 'SSO_MISSING_ATTRIBUTE', name);
      });
    }

    it('names every missing attribute', () => {
      assertSsoError(() => decide({ attrs: { city: 'Paris' } }), 'SSO_MISSING_ATTRIBUTE', 'uid, firstname, lastname, email');
      assertSsoError(() => decide({ attrs: { uid: 'u', email: 'u@example.com' } }), 'SSO_MISSING_ATTRIBUTE', 'firstname, lastname');
    });

    it('refuses an unknown user when auto creation is off, even with every attribute', () => {
      assertSsoError(() => decide({ config: { autoAccountCreation: false } }), 'SSO_NO_ACCOUNT');
      assertSsoError(() => decide({ attrs: {}, config: { autoAccountCreation: false } }), 'SSO_NO_ACCOUNT');
    });

    const foreign = [
      'jdoe@other.com',
      'jdoe@sub.example.com',
      'jdoe@example.com.evil.com',
      'jdoe@evilexample.com',
      'jdoe@example.co',
      'jdoe',
      'jdoe@',
      '@example.com',
    ];
    for (const email of foreign) {
      it(`refuses e-mail ${email} outside the org's domains (SSO_DOMAIN)`, () => {
        assertSsoError(() => decide({ attrs: { ...REQUIRED, email } }), 'SSO_DOMAIN');
      });
    }

    for (const email of ['JDoe@EXAMPLE.COM', 'jdoe@example.org', 'jdoe@example.com.']) {
      it(`accepts ${email}: domains compare case-insensitively`, () => {
        assert.equal(expectAction(decide({ attrs: { ...REQUIRED, email } }), 'create').fields.email, email);
      });
    }

    it('applies groupid on create', () => {
      const d = expectAction(decide({ attrs: { ...REQUIRED, groupid: 'G-7' } }), 'create');
      assert.equal(d.fields.attributes.groupid, 'G-7');
    });

    it('creates with a null timestamp and a warning when updateTimeStamp is garbage', () => {
      const d = expectAction(decide({ attrs: { ...REQUIRED, updateTimeStamp: 'last tuesday' } }), 'create');
      assert.equal(d.fields.updateTimeStamp, null);
      assert.deepEqual(d.warnings, [{ code: 'UPDATE_TIMESTAMP_UNPARSABLE', attribute: 'updateTimeStamp', value: 'last tuesday' }]);
    });
  });

  describe('ISOCountry', () => {
    it('stores a valid code upper-cased', () => {
      const d = expectAction(decide({ attrs: { ...REQUIRED, ISOCountry: 'fr' } }), 'create');
      assert.equal(d.fields.attributes.ISOCountry, 'FR');
    });
    for (const bad of ['UK', 'USA', '1', 'France', 'XK']) {
      it(`drops invalid ${bad} with a warning but still signs in`, () => {
        const d = expectAction(decide({ attrs: { ...REQUIRED, ISOCountry: bad } }), 'create');
        assert.equal(d.fields.attributes.ISOCountry, undefined);
        assert.deepEqual(d.warnings, [{ code: 'ISO_COUNTRY_INVALID', attribute: 'ISOCountry', value: bad }]);
      });
    }
    it('keeps the stored country when an update carries an invalid one', () => {
      const d = expectAction(
        decide({
          existing: account({ attributes: { ISOCountry: 'DE' } }),
          attrs: { ...REQUIRED, ISOCountry: 'ZZ', updateTimeStamp: String(T + 1000) },
        }),
        'update',
      );
      assert.equal(d.fields.attributes.ISOCountry, 'DE');
      assert.ok(!d.changed.includes('ISOCountry'));
      assert.equal(d.warnings[0]?.code, 'ISO_COUNTRY_INVALID');
    });
  });

  describe('IM logging defaults', () => {
    it('sets false / wbx_default_endpoint when the org logs IM and the attributes are absent', () => {
      const d = expectAction(decide({ org: { imLoggingEnabled: true } }), 'create');
      assert.deepEqual(d.fields.attributes, { imloggingenabled: 'false', imloggingendpointname: 'wbx_default_endpoint' });
    });
    it('keeps values the assertion provides', () => {
      const d = expectAction(
        decide({ org: { imLoggingEnabled: true }, attrs: { ...REQUIRED, imloggingenabled: 'TRUE', imloggingendpointname: 'ep1' } }),
        'create',
      );
      assert.deepEqual(d.fields.attributes, { imloggingenabled: 'true', imloggingendpointname: 'ep1' });
    });
    it('sets nothing when the org does not log IM', () => {
      const d = expectAction(decide({ org: { imLoggingEnabled: false } }), 'create');
      assert.deepEqual(d.fields.attributes, {});
    });
    it('replaces an unparsable imloggingenabled by the default, with a warning', () => {
      const d = expectAction(decide({ org: { imLoggingEnabled: true }, attrs: { ...REQUIRED, imloggingenabled: 'maybe' } }), 'create');
      assert.equal(d.fields.attributes.imloggingenabled, 'false');
      assert.equal(d.warnings[0]?.code, 'IM_LOGGING_ENABLED_INVALID');
    });
    it('on update, fills defaults only where nothing is stored', () => {
      const newer = { ...REQUIRED, updateTimeStamp: String(T + 1000) };
      const filled = expectAction(decide({ existing: account(), attrs: newer, org: { imLoggingEnabled: true } }), 'update');
      assert.deepEqual(filled.fields.attributes, { imloggingenabled: 'false', imloggingendpointname: 'wbx_default_endpoint' });
      assert.ok(filled.changed.includes('imloggingenabled'));
      const kept = expectAction(
        decide({
          existing: account({ attributes: { imloggingenabled: 'true', imloggingendpointname: 'ep9' } }),
          attrs: newer,
          org: { imLoggingEnabled: true },
        }),
        'update',
      );
      assert.deepEqual(kept.fields.attributes, { imloggingenabled: 'true', imloggingendpointname: 'ep9' });
    });
  });

  describe('update (R-ACC-4)', () => {
    const stamps: Array<[string, string | undefined, ProvisioningDecision['action'], string?]> = [
      ['older (epoch ms)', String(T - 1000), 'signin', 'update-timestamp-not-newer'],
      ['older (ISO)', '2013-10-30T13:07:06Z', 'signin', 'update-timestamp-not-newer'],
      ['equal (LDIF form of the stored instant)', '20131030130707.0Z', 'signin', 'update-timestamp-not-newer'],
      ['equal (seconds)', String(T / 1000), 'signin', 'update-timestamp-not-newer'],
      ['newer by 1 ms', String(T + 1), 'update'],
      ['newer (ISO with offset)', '2013-10-30T15:07:08+02:00', 'update'],
      ['newer (LDIF)', '20131030130708Z', 'update'],
      ['missing', undefined, 'signin', 'no-update-timestamp'],
      ['garbage', 'not-a-date', 'signin', 'update-timestamp-unparsable'],
    ];
    for (const [label, stamp, action, reason] of stamps) {
      it(`timestamp ${label} → ${action}`, () => {
        const attrs = { ...REQUIRED, firstname: 'Johnny', ...(stamp === undefined ? {} : { updateTimeStamp: stamp }) };
        const d = decide({ existing: account(), attrs });
        assert.equal(d.action, action);
        if (d.action === 'signin') {
          assert.equal(d.reason, reason);
          assert.equal(d.account.firstname, 'John');
        } else {
          assert.equal(expectAction(d, 'update').fields.firstname, 'Johnny');
        }
      });
    }

    it('reports a garbage timestamp so the caller can log it', () => {
      const d = decide({ existing: account(), attrs: { ...REQUIRED, updateTimeStamp: 'not-a-date' } });
      assert.deepEqual(d.warnings, [{ code: 'UPDATE_TIMESTAMP_UNPARSABLE', attribute: 'updateTimeStamp', value: 'not-a-date' }]);
    });

    it('updates the first time when nothing was stored yet', () => {
      const d = decide({ existing: account({ updateTimeStamp: null }), attrs: { ...REQUIRED, updateTimeStamp: '1' } });
      assert.equal(d.action, 'update');
    });

    it('does not update when auto update is off, even with a newer timestamp', () => {
      const d = decide({ existing: account(), attrs: { ...REQUIRED, firstname: 'X', updateTimeStamp: String(T + 1000) }, config: { autoAccountUpdate: false } });
      assert.equal(d.action, 'signin');
      assert.equal(d.action === 'signin' && d.reason, 'auto-update-off');
    });

    it('merges: absent attributes keep their stored value; changed lists what moves', () => {
      const existing = account({ attributes: { city: 'Paris', zipcode: '75001', custom: 'kept' } });
      const d = expectAction(
        decide({ existing, attrs: { lastname: 'Smith', city: 'Lyon', updateTimeStamp: String(T + 1000) } }),
        'update',
      );
      assert.deepEqual(d.fields, {
        uid: 'jdoe@example.com',
        email: 'jdoe@example.com',
        firstname: 'John',
        lastname: 'Smith',
        ssoId: null,
        attributes: { city: 'Lyon', zipcode: '75001', custom: 'kept' },
        updateTimeStamp: T + 1000,
      });
      assert.deepEqual(d.changed, ['lastname', 'city', 'updateTimeStamp']);
    });

    it('never applies groupid on update', () => {
      const newer = { ...REQUIRED, groupid: 'G-new', updateTimeStamp: String(T + 1000) };
      const withGroup = expectAction(decide({ existing: account({ attributes: { groupid: 'G-old' } }), attrs: newer }), 'update');
      assert.equal(withGroup.fields.attributes.groupid, 'G-old');
      assert.ok(!withGroup.changed.includes('groupid'));
      const withoutGroup = expectAction(decide({ existing: account(), attrs: newer }), 'update');
      assert.equal(withoutGroup.fields.attributes.groupid, undefined);
      assert.ok(!withoutGroup.changed.includes('groupid'));
    });

    it('refuses an update moving the e-mail outside the org domains', () => {
      assertSsoError(
        () => decide({ existing: account(), attrs: { ...REQUIRED, email: 'jdoe@other.com', updateTimeStamp: String(T + 1000) } }),
        'SSO_DOMAIN',
      );
    });

    it('does not re-check an unchanged e-mail an administrator set', () => {
      const existing = account({ email: 'jdoe@legacy.net' });
      const d = decide({ existing, attrs: { ...REQUIRED, email: 'jdoe@legacy.net', updateTimeStamp: String(T + 1000) } });
      assert.equal(d.action, 'update');
    });

    it('refuses an account bound to another ssoid', () => {
      assertSsoError(
        () => decide({ existing: account({ ssoId: 'S-other' }), attrs: { ...REQUIRED, ssoid: 'S-1' } }),
        'SSO_NO_ACCOUNT',
      );
    });

    it('links the ssoid on update when none was stored', () => {
      const d = expectAction(decide({ existing: account(), attrs: { ...REQUIRED, ssoid: 'S-1', updateTimeStamp: String(T + 1) } }), 'update');
      assert.equal(d.fields.ssoId, 'S-1');
      assert.ok(d.changed.includes('ssoid'));
    });
  });

  describe('administrators are never altered by SSO', () => {
    // Every newer-timestamp form that updates a member (see the update table) must leave an admin as is.
    const newer: Array<[string, string]> = [
      ['epoch ms', String(T + 1000)],
      ['UTC ISO', '2013-10-30T13:07:08Z'],
      ['LDIF', '20131030130708Z'],
    ];
    for (const role of ['orgAdmin', 'userAdmin'] as const) {
      for (const [format, stamp] of newer) {
        it(`${role} with a newer updateTimeStamp (${format}) signs in unchanged`, () => {
          const existing = account({ role, attributes: { city: 'Paris' } });
          const attrs = {
            ...REQUIRED,
            firstname: 'Jo',
            lastname: 'Smith',
            email: 'jo.smith@example.org',
            city: 'Lyon',
            ssoid: 'S-admin',
            role: 'member',
            updateTimeStamp: stamp,
          };
          const d = expectAction(decide({ existing, attrs }), 'signin');
          assert.equal(d.reason, 'administrator-not-updated');
          assert.equal(d.account, existing);
          assert.deepEqual(existing, account({ role, attributes: { city: 'Paris' } }), 'the input account is not mutated');
          // The same assertion does update a plain member, so the admin rule is what held it back.
          assert.equal(decide({ existing: account({ attributes: { city: 'Paris' } }), attrs }).action, 'update');
        });
      }

      it(`${role}: no refusal for what an update would have refused (foreign e-mail domain)`, () => {
        const d = decide({ existing: account({ role }), attrs: { ...REQUIRED, email: 'jdoe@other.com', updateTimeStamp: String(T + 1000) } });
        assert.equal(d.action === 'signin' && d.reason, 'administrator-not-updated');
      });

      it(`${role}: with auto update off, or without a timestamp, still signs in unchanged`, () => {
        const existing = account({ role });
        assert.equal(decide({ existing, config: { autoAccountUpdate: false } }).action, 'signin');
        assert.equal(decide({ existing }).action, 'signin');
      });

      it(`${role}: still refused when bound to another ssoid`, () => {
        assertSsoError(() => decide({ existing: account({ role, ssoId: 'S-other' }), attrs: { ...REQUIRED, ssoid: 'S-1' } }), 'SSO_NO_ACCOUNT');
      });
    }
  });

  describe('deactivated accounts (R-ACC-6)', () => {
    for (const config of [CONFIG, { ...CONFIG, autoAccountUpdate: false }, { ...CONFIG, autoAccountCreation: false }]) {
      it(`are refused (${JSON.stringify(config)})`, () => {
        assertSsoError(
          () => decide({ existing: account({ status: 'inactive' }), attrs: { ...REQUIRED, updateTimeStamp: String(T + 1000) }, config }),
          'SSO_ACCOUNT_INACTIVE',
        );
      });
    }
    it('an inactive administrator too', () => {
      assertSsoError(() => decide({ existing: account({ status: 'inactive', role: 'orgAdmin' }) }), 'SSO_ACCOUNT_INACTIVE');
    });
  });

  describe('remove uid domain suffix (R-ACC-5)', () => {
    const strip: Array<[string, string]> = [
      ['jdoe@example.com', 'jdoe'],
      ['CORP\\jdoe', 'jdoe'],
      ['CORP\\jdoe@corp.example.com', 'jdoe'],
      ['jdoe', 'jdoe'],
      [' jdoe@example.com ', 'jdoe'],
    ];
    for (const [input, expected] of strip) {
      it(`stripUidDomainSuffix(${JSON.stringify(input)}) = ${expected}`, () => assert.equal(stripUidDomainSuffix(input), expected));
    }

    it('without ssoid: refused with SSO_UID_DOMAIN, for new and existing users alike', () => {
      const on = { removeUidDomainSuffix: true };
      assertSsoError(() => decide({ config: on }), 'SSO_UID_DOMAIN');
      assertSsoError(() => decide({ config: on, attrs: { ...REQUIRED, uid: 'jdoe' } }), 'SSO_UID_DOMAIN');
      assertSsoError(() => decide({ config: on, existing: account() }), 'SSO_UID_DOMAIN');
    });

    it('with ssoid: creates with the stripped uid', () => {
      const d = expectAction(
        decide({ config: { removeUidDomainSuffix: true }, attrs: { ...REQUIRED, uid: 'CORP\\jdoe@corp.example.com', ssoid: 'S-1' } }),
        'create',
      );
      assert.equal(d.fields.uid, 'jdoe');
      assert.equal(d.fields.ssoId, 'S-1');
    });

    it('with ssoid: a uid that is only a suffix counts as missing', () => {
      assertSsoError(
        () => decide({ config: { removeUidDomainSuffix: true }, attrs: { ...REQUIRED, uid: '@example.com', ssoid: 'S-1' } }),
        'SSO_MISSING_ATTRIBUTE',
        'uid',
      );
    });

    it('with ssoid: updates store the stripped uid', () => {
      const d = expectAction(
        decide({
          config: { removeUidDomainSuffix: true },
          existing: account({ uid: 'jdoe', ssoId: 'S-1' }),
          attrs: { ...REQUIRED, ssoid: 'S-1', updateTimeStamp: String(T + 1) },
        }),
        'update',
      );
      assert.equal(d.fields.uid, 'jdoe');
      assert.ok(!d.changed.includes('uid'));
    });

    it('off: the uid is kept whole', () => {
      assert.equal(expectAction(decide({ attrs: { ...REQUIRED, uid: 'CORP\\jdoe' } }), 'create').fields.uid, 'CORP\\jdoe');
    });
  });

  describe('through the mapper', () => {
    it('creates from an ADFS claim set with OIDs mixed in', () => {
      const m = mapAttributes([
        { name: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn', values: ['jdoe@example.com'] },
        { name: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname', values: ['John'] },
        { name: 'urn:oid:2.5.4.4', values: ['Doe'] },
        { name: 'urn:oid:0.9.2342.19200300.100.1.3', values: ['jdoe@example.com'] },
        { name: 'WHENCHANGED', values: ['20131030130707.0Z'] },
      ]);
      const d = decideProvisioning({ existing: null, mapped: m, nameId: 'x', org: ORG, config: CONFIG });
      const c = expectAction(d, 'create');
      assert.equal(c.fields.lastname, 'Doe');
      assert.equal(c.fields.updateTimeStamp, T);
    });
  });

  it('emailDomain', () => {
    assert.equal(emailDomain('a@B.com'), 'b.com');
    assert.equal(emailDomain('a@b@c.com'), 'c.com');
    assert.equal(emailDomain('nodomain'), null);
    assert.equal(emailDomain('@b.com'), null);
  });
});
