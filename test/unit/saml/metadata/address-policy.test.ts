import assert from 'node:assert/strict';
import { isPublicAddress } from '../../../../src/saml/metadata/address-policy.js';

describe('metadata URL address policy (R-SAML-7: no private targets)', () => {
  const refused = [
    '127.0.0.1', '127.255.255.254', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254',
    '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '192.0.2.10', '198.18.0.1',
    '::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1', 'ff02::1', '2001:db8::1',
    '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::ffff:7f00:1', '::ffff:a9fe:a9fe', '64:ff9b::a9fe:a9fe', '64:ff9b::10.0.0.1',
    '64:ff9b:1::a00:1', '2002:7f00:1::1', '2002:a9fe:a9fe::', '2001:0:4136:e378::1',
    'localhost', 'not-an-ip', '',
  ];
  const allowed = ['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '2a00:1450:4001::200e'];

  for (const address of refused) it(`refuses ${address || '(empty)'}`, () => assert.equal(isPublicAddress(address), false));
  for (const address of allowed) it(`allows ${address}`, () => assert.equal(isPublicAddress(address), true));
});
