/**
 * Test inputs made by the openssl CLI at test time (no committed keys): certificates with
 * key types we did not generate ourselves, CSRs, PKCS#7/#12 bundles and private keys in
 * every common encoding. Also `opensslText`, to read our certificates with a parser we did
 * not write.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class OpensslWorkspace {
  readonly dir = mkdtempSync(join(tmpdir(), 'fedbridge-certs-'));
  private counter = 0;

  /** Runs openssl in the workspace; returns stdout. */
  run(args: string[], input?: Buffer | string): Buffer {
    return execFileSync('openssl', args, {
      cwd: this.dir,
      input,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  read(name: string): Buffer {
    return readFileSync(this.path(name));
  }

  write(data: Buffer | string): string {
    const name = `input-${++this.counter}`;
    writeFileSync(this.path(name), data);
    return name;
  }

  /** A self-signed certificate; `newkey` as `openssl req -newkey` takes it (rsa:2048, ec, ed25519, dsa:params…). */
  selfSigned(name: string, newkey: string, opts: { pkeyopt?: string[]; subject?: string; digest?: string; days?: number } = {}): {
    certPem: Buffer;
    keyPem: Buffer;
  } {
    const args = ['req', '-x509', '-newkey', newkey, '-nodes', '-subj', opts.subject ?? `/CN=${name}/O=Test IdP`];
    for (const opt of opts.pkeyopt ?? []) args.push('-pkeyopt', opt);
    if (opts.digest) args.push(`-${opts.digest}`);
    args.push('-days', String(opts.days ?? 365), '-keyout', `${name}.key`, '-out', `${name}.pem`);
    this.run(args);
    return { certPem: this.read(`${name}.pem`), keyPem: this.read(`${name}.key`) };
  }

  /** The certificate in DER. */
  toDer(certPem: Buffer): Buffer {
    return this.run(['x509', '-in', this.write(certPem), '-outform', 'DER']);
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** `openssl x509 -noout -text` of a PEM or DER certificate. */
export function opensslText(ws: OpensslWorkspace, cert: Buffer | string, inform: 'PEM' | 'DER' = 'PEM'): string {
  return ws.run(['x509', '-inform', inform, '-in', ws.write(cert), '-noout', '-text']).toString();
}

/** One `openssl x509 -noout -<field>` value, e.g. serial → "3A…". */
export function opensslField(ws: OpensslWorkspace, certPem: Buffer | string, ...flags: string[]): string {
  const out = ws.run(['x509', '-in', ws.write(certPem), '-noout', ...flags]).toString().trim();
  return out.slice(out.indexOf('=') + 1);
}
