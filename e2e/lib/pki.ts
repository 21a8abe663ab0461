import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDebianPackages } from './apt.js';
import { run } from './exec.js';

export interface CertSpec {
  /** File stem: writes NAME.key and NAME.crt. */
  name: string;
  commonName: string;
  organizations?: string[];
  /** Subject alternative names, e.g. ['DNS:localhost', 'IP:127.0.0.1']; makes it a server cert. */
  altNames?: string[];
  client?: boolean;
}

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  issue(spec: CertSpec): Promise<{ cert: string; key: string }>;
  /** RSA key pair for service-account tokens (apiserver signs, controller-manager too). */
  serviceAccountKeys(): Promise<{ key: string; pub: string }>;
}

/**
 * A small certificate authority built with the openssl CLI; Kubernetes components
 * authenticate each other with client certificates signed by it.
 */
export async function createPki(dir: string): Promise<Pki> {
  await ensureDebianPackages(['openssl']);
  mkdirSync(dir, { recursive: true });
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.crt');
  if (!existsSync(caCert)) {
    await run('openssl', ['genrsa', '-out', caKey, '2048']);
    await run('openssl', ['req', '-x509', '-new', '-nodes', '-key', caKey, '-sha256', '-days', '3650', '-subj', '/CN=chronik-e2e-ca', '-out', caCert]);
  }
  const issue = async (spec: CertSpec): Promise<{ cert: string; key: string }> => {
    const key = join(dir, `${spec.name}.key`);
    const cert = join(dir, `${spec.name}.crt`);
    if (existsSync(cert)) return { cert, key };
    const csr = join(dir, `${spec.name}.csr`);
    const ext = join(dir, `${spec.name}.ext`);
    const subject = ['', ...(spec.organizations ?? []).map((o) => `O=${o}`), `CN=${spec.commonName}`].join('/');
    const usages = [spec.altNames?.length ? 'serverAuth' : '', spec.client !== false ? 'clientAuth' : ''].filter(Boolean).join(',');
    const lines = [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      `extendedKeyUsage=${usages}`,
    ];
    if (spec.altNames?.length) lines.push(`subjectAltName=${spec.altNames.join(',')}`);
    writeFileSync(ext, lines.join('\n') + '\n');
    await run('openssl', ['genrsa', '-out', key, '2048']);
    await run('openssl', ['req', '-new', '-key', key, '-subj', subject, '-out', csr]);
    await run('openssl', ['x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-days', '3650', '-sha256', '-extfile', ext, '-out', cert]);
    return { cert, key };
  };
  const serviceAccountKeys = async (): Promise<{ key: string; pub: string }> => {
    const key = join(dir, 'sa.key');
    const pub = join(dir, 'sa.pub');
    if (!existsSync(pub)) {
      await run('openssl', ['genrsa', '-out', key, '2048']);
      await run('openssl', ['rsa', '-in', key, '-pubout', '-out', pub]);
    }
    return { key, pub };
  };
  return { dir, caCert, caKey, issue, serviceAccountKeys };
}

export function kubeconfigYaml(opts: { server: string; caCert: string; clientCert: string; clientKey: string; user: string }): string {
  // Inline data rather than paths, so the file works when copied or read by any client library.
  const b64 = (file: string): string => readFileSync(file).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: chronik-e2e',
    '  cluster:',
    `    server: ${opts.server}`,
    `    certificate-authority-data: ${b64(opts.caCert)}`,
    'users:',
    `- name: ${opts.user}`,
    '  user:',
    `    client-certificate-data: ${b64(opts.clientCert)}`,
    `    client-key-data: ${b64(opts.clientKey)}`,
    'contexts:',
    '- name: chronik-e2e',
    '  context:',
    '    cluster: chronik-e2e',
    `    user: ${opts.user}`,
    'current-context: chronik-e2e',
    '',
  ].join('\n');
}
