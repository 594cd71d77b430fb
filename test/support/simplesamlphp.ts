/**
 * A real SimpleSAMLphp IdP (Debian's `simplesamlphp` 1.19 run by `php -S`) for interop tests.
 *
 * `startSimpleSamlPhp()` writes a configuration directory — config.php, authsources.php with
 * an `exampleauth:UserPass` user, saml20-idp-hosted.php with a key and certificate generated
 * now — and serves SimpleSAMLphp's `www/` with PHP's built-in server on a free loopback port
 * (`SIMPLESAMLPHP_CONFIG_DIR` points at the directory). `trustSp(xml)` turns an SP's metadata
 * into saml20-sp-remote.php with SimpleSAMLphp's own parser (what its admin "XML to
 * SimpleSAMLphp metadata converter" does), so what SimpleSAMLphp knows of the SP is exactly
 * what the SP's metadata says.
 *
 * The IdP signs its assertions, its logout messages and checks signatures on AuthnRequests
 * (`validate.authnrequest`) and logout messages (`validate.logout`); assertions are
 * encrypted when `trustSp` is asked to (`assertion.encryption`: RSA-OAEP-MGF1P + AES-128-CBC).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateTestKeyPair, type TestKeyPair } from './test-idp.js';

export const SIMPLESAMLPHP_DIR = process.env.SIMPLESAMLPHP_DIR ?? '/usr/share/simplesamlphp';
/** PHP extensions SimpleSAMLphp 1.19 cannot work without (php-xml, php-mbstring; openssl is built in). */
const REQUIRED_EXTENSIONS = ['dom', 'openssl', 'mbstring', 'SimpleXML', 'xml'];

/** Why SimpleSAMLphp cannot be run here, or undefined when it can. */
export function simpleSamlPhpUnavailable(): string | undefined {
  const php = spawnSync('php', ['-m'], { encoding: 'utf8' });
  if (php.error || php.status !== 0) return 'php (php-cli) is not installed';
  if (!existsSync(join(SIMPLESAMLPHP_DIR, 'www', '_include.php')) || !existsSync(join(SIMPLESAMLPHP_DIR, 'lib', '_autoload.php'))) {
    return `SimpleSAMLphp is not installed in ${SIMPLESAMLPHP_DIR} (Debian package simplesamlphp)`;
  }
  return undefined;
}

/** PHP extensions SimpleSAMLphp needs that this php lacks (a setup error, not a reason to skip). */
export function missingPhpExtensions(): string[] {
  const modules = spawnSync('php', ['-m'], { encoding: 'utf8' }).stdout.split('\n').map((l) => l.trim().toLowerCase());
  return REQUIRED_EXTENSIONS.filter((e) => !modules.includes(e.toLowerCase()));
}

export interface SimpleSamlPhpUser {
  username: string;
  password: string;
  attributes: Record<string, string[]>;
}

export interface SimpleSamlPhpOptions {
  users: SimpleSamlPhpUser[];
  /** NameID format the IdP issues; default emailAddress from the `email` attribute. */
  nameIdFormat?: string;
  nameIdAttribute?: string;
}

export interface SimpleSamlPhp {
  baseUrl: string;
  entityId: string;
  metadataUrl: string;
  ssoUrl: string;
  sloUrl: string;
  /** The IdP's signing key pair (generated at start). */
  key: TestKeyPair;
  /** Makes SimpleSAMLphp trust an SP, from the SP's metadata XML. */
  trustSp(metadataXml: string, extra?: Record<string, unknown>): void;
  /** SimpleSAMLphp's log and the PHP server's output, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** A PHP string literal (single-quoted). */
function php(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function phpArray(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(phpArray).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    return `[${Object.entries(value).map(([k, v]) => `${php(k)} => ${phpArray(v)}`).join(', ')}]`;
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return String(value);
  return php(String(value));
}

/** SimpleSAMLphp's SAMLParser turns SP metadata into a saml20-sp-remote.php array (stdin → file). */
const CONVERTER = `<?php
require ${php(join(SIMPLESAMLPHP_DIR, 'lib', '_autoload.php'))};
$xml = stream_get_contents(STDIN);
$extra = json_decode($argv[2], true);
$out = "<?php\\n";
$n = 0;
foreach (\\SimpleSAML\\Metadata\\SAMLParser::parseDescriptorsString($xml) as $entityId => $entity) {
  $md = $entity->getMetadata20SP();
  if ($md === null) continue;
  $out .= '$metadata[' . var_export($entityId, true) . '] = ' . var_export(array_merge($md, $extra), true) . ";\\n";
  $n++;
}
if ($n === 0) { fwrite(STDERR, "no SP in the metadata\\n"); exit(1); }
file_put_contents($argv[1], $out);
`;

export async function startSimpleSamlPhp(opts: SimpleSamlPhpOptions): Promise<SimpleSamlPhp> {
  const unavailable = simpleSamlPhpUnavailable();
  if (unavailable) throw new Error(unavailable);
  const missing = missingPhpExtensions();
  if (missing.length > 0) throw new Error(`php lacks extensions SimpleSAMLphp needs: ${missing.join(', ')} (install php-xml php-mbstring)`);

  const dir = mkdtempSync(join(tmpdir(), 'fedbridge-simplesamlphp-'));
  for (const sub of ['config', 'metadata', 'cert', 'log', 'data', 'tmp', 'sessions']) mkdirSync(join(dir, sub));
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const entityId = `${baseUrl}/saml2/idp/metadata.php`;
  const key = generateTestKeyPair({ commonName: 'simplesamlphp idp' });
  writeFileSync(join(dir, 'cert', 'idp.key'), key.privateKeyPem, { mode: 0o600 });
  writeFileSync(join(dir, 'cert', 'idp.crt'), key.certPem);

  writeFileSync(
    join(dir, 'config', 'config.php'),
    `<?php
$config = ${phpArray({
      baseurlpath: `${baseUrl}/`,
      certdir: `${dir}/cert/`,
      loggingdir: `${dir}/log/`,
      datadir: `${dir}/data/`,
      tempdir: `${dir}/tmp/`,
      metadatadir: `${dir}/metadata/`,
      secretsalt: key.fingerprint256,
      'auth.adminpassword': key.fingerprint256.slice(0, 32),
      technicalcontact_name: 'fedbridge tests',
      technicalcontact_email: 'tests@fedbridge.test',
      timezone: 'UTC',
      'logging.handler': 'file',
      'logging.logfile': 'simplesamlphp.log',
      'enable.saml20-idp': true,
      'module.enable': { exampleauth: true, core: true, saml: true },
      'session.cookie.secure': false,
      'store.type': 'phpsession',
      'metadata.sources': [{ type: 'flatfile' }],
    })};
$config['logging.level'] = SimpleSAML\\Logger::DEBUG;
`,
  );
  const users = Object.fromEntries(opts.users.map((u) => [`${u.username}:${u.password}`, u.attributes]));
  writeFileSync(
    join(dir, 'config', 'authsources.php'),
    `<?php\n$config = ${phpArray({ admin: ['core:AdminPassword'], 'example-userpass': { 0: 'exampleauth:UserPass', ...users } })};\n`,
  );
  writeFileSync(
    join(dir, 'metadata', 'saml20-idp-hosted.php'),
    `<?php\n$metadata[${php(entityId)}] = ${phpArray({
      host: '__DEFAULT__',
      privatekey: `${dir}/cert/idp.key`,
      certificate: `${dir}/cert/idp.crt`,
      auth: 'example-userpass',
      NameIDFormat: opts.nameIdFormat ?? 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      'simplesaml.nameidattribute': opts.nameIdAttribute ?? 'email',
      'attributes.NameFormat': 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic',
      'signature.algorithm': 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
      'validate.authnrequest': true,
      'sign.logout': true,
      'validate.logout': true,
    })};\n`,
  );
  writeFileSync(join(dir, 'metadata', 'saml20-sp-remote.php'), '<?php\n');
  writeFileSync(join(dir, 'convert.php'), CONVERTER);

  let output = '';
  const child: ChildProcess = spawn(
    'php',
    ['-d', `session.save_path=${dir}/sessions`, '-d', 'display_errors=stderr', '-S', `127.0.0.1:${port}`, '-t', join(SIMPLESAMLPHP_DIR, 'www')],
    { env: { ...process.env, SIMPLESAMLPHP_CONFIG_DIR: join(dir, 'config') }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));

  const logs = () => {
    const file = join(dir, 'log', 'simplesamlphp.log');
    return `--- php -S ---\n${output.slice(-20_000)}\n--- simplesamlphp.log ---\n${existsSync(file) ? readFileSync(file, 'utf8').slice(-20_000) : '(none)'}`;
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  // Ready when the IdP metadata answers (the built-in server starts in well under a second).
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`php -S exited with ${child.exitCode}: ${output}`);
    }
    try {
      const r = await fetch(entityId);
      if (r.status === 200 && (await r.text()).includes('IDPSSODescriptor')) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      const l = logs();
      await stop();
      throw new Error(`SimpleSAMLphp did not serve its metadata within 15 s\n${l}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    baseUrl,
    entityId,
    metadataUrl: entityId,
    ssoUrl: `${baseUrl}/saml2/idp/SSOService.php`,
    sloUrl: `${baseUrl}/saml2/idp/SingleLogoutService.php`,
    key,
    trustSp(metadataXml, extra = {}) {
      const r = spawnSync('php', [join(dir, 'convert.php'), join(dir, 'metadata', 'saml20-sp-remote.php'), JSON.stringify(extra)], {
        input: metadataXml,
        encoding: 'utf8',
        env: { ...process.env, SIMPLESAMLPHP_CONFIG_DIR: join(dir, 'config') },
      });
      if (r.status !== 0) throw new Error(`SimpleSAMLphp could not read the SP metadata: ${r.stderr || r.stdout}`);
    },
    logs,
    stop,
  };
}
