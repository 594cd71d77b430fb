import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The OASIS/W3C schemas under test/fixtures/xsd (see its README). */
export const XSD_DIR = fileURLToPath(new URL('../../../fixtures/xsd/', import.meta.url));

/** Validates `xml` with xmllint against one of the fixture schemas (no network). */
export function validateWithXsd(xml: string, schema: 'saml-schema-metadata-2.0.xsd' | 'saml-schema-protocol-2.0.xsd'): { ok: boolean; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'fedbridge-xsd-'));
  try {
    const file = join(dir, 'doc.xml');
    writeFileSync(file, xml);
    const r = spawnSync('xmllint', ['--noout', '--nonet', '--schema', join(XSD_DIR, schema), file], { encoding: 'utf8' });
    if (r.error) throw new Error(`xmllint could not run: ${r.error.message}`);
    return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Verifies an enveloped signature with xmlsec1 (an independent implementation) and the given certificate. */
export function verifyWithXmlsec1(xml: string, certPem: string, idNode: string): { ok: boolean; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'fedbridge-xmlsec-'));
  try {
    writeFileSync(join(dir, 'doc.xml'), xml);
    writeFileSync(join(dir, 'cert.pem'), certPem);
    const r = spawnSync(
      'xmlsec1',
      ['--verify', '--enabled-key-data', 'x509', '--pubkey-cert-pem', join(dir, 'cert.pem'), '--id-attr:ID', idNode, join(dir, 'doc.xml')],
      { encoding: 'utf8' },
    );
    if (r.error) throw new Error(`xmlsec1 could not run: ${r.error.message}`);
    return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
