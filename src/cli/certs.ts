// `spate certs`: a certificate authority and broker and client certificates for a test or
// development setup of SSL / SASL_SSL listeners, made by the `openssl` binary (run with
// execFile-style argument lists, never a shell). In --dir:
//
//   ca.key, ca.pem                 the CA's key and self-signed certificate (CN=Spate test CA);
//                                  reused when both exist, unless --new-ca
//   NAME.key, NAME.pem             each broker's and client's PKCS#8 key and its certificate,
//                                  signed by the CA; a broker's has the --host names and
//                                  addresses as subjectAltNames (default localhost, 127.0.0.1)
//                                  and serverAuth + clientAuth, a client's subject is CN=NAME
//                                  and clientAuth
//   NAME.keystore.pem              the key, then the certificate and the CA's: the file Kafka
//                                  reads as `ssl.keystore.type=PEM` (KIP-651: a PKCS#8
//                                  `PRIVATE KEY` or `ENCRYPTED PRIVATE KEY` block, then the
//                                  chain's CERTIFICATE blocks)
//
// --key-password encrypts every key it writes (ca.key included) as PKCS#8 with
// PBEWithSHA1AndDESede (see newKey for why not openssl's default PBES2), which Kafka opens with
// ssl.key.password, librdkafka with ssl.key.password and Node with createPrivateKey({ key, passphrase }). The password reaches openssl on its
// stdin, never on a command line. Keys are EC P-256 (default) or RSA 2048 (--key-type), valid
// --days (default 365), SHA-256 signatures. Key files are written with mode 0600.
//
// makeCertificates is the same work without the command line, for tests.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ParsedArgs } from './args.js';
import type { Command } from './command.js';
import { ExitCode, UsageError } from './errors.js';
import { printError, printLine } from './output.js';

export type KeyType = 'rsa' | 'ec';

export interface CertificateOptions {
  readonly dir: string;
  readonly brokers?: readonly { readonly name: string; readonly hosts?: readonly string[] }[];
  readonly clients?: readonly string[];
  /** Encrypts every key written (PKCS#8); absent: unencrypted keys. */
  readonly keyPassword?: string;
  /** Default 365. */
  readonly days?: number;
  /** Default 'ec' (P-256). */
  readonly keyType?: KeyType;
  /** Make a new CA even when ca.key and ca.pem exist. */
  readonly newCa?: boolean;
}

export interface EntityFiles {
  readonly name: string;
  readonly key: string;
  readonly certificate: string;
  /** Key, certificate and the CA's certificate: Kafka's ssl.keystore.type=PEM file. */
  readonly keystore: string;
}

export interface CertificateFiles {
  readonly dir: string;
  readonly ca: { readonly key: string; readonly certificate: string; readonly reused: boolean };
  readonly brokers: readonly (EntityFiles & { readonly hosts: readonly string[] })[];
  readonly clients: readonly EntityFiles[];
}

export const DEFAULT_BROKER_HOSTS: readonly string[] = ['localhost', '127.0.0.1'];
const DEFAULT_DAYS = 365;
const CA_SUBJECT = '/CN=Spate test CA';
/** Names become file names. */
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const HOST_PATTERN = /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

/** The openssl binary is not installed (or not on PATH). */
export class OpensslMissingError extends Error {
  override readonly name = 'OpensslMissingError';
  constructor() {
    super('the openssl command is not installed (or not on PATH); install it, e.g. apt-get install openssl');
  }
}

/** Bad options (a name that cannot be a file name, a host that cannot be a subjectAltName, …). */
export class CertificateOptionsError extends Error {
  override readonly name = 'CertificateOptionsError';
}

/** Runs openssl with these arguments, `input` on its stdin; rejects with its stderr on failure. */
function openssl(args: readonly string[], input = ''): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('openssl', args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    child.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'ENOENT' ? new OpensslMissingError() : error));
    child.once('close', (code) => {
      if (code === 0) resolvePromise();
      else reject(new Error(`openssl ${args[0]} failed (exit ${code}): ${stderr.trim()}`));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

function checkName(what: string, name: string): void {
  if (!NAME_PATTERN.test(name)) throw new CertificateOptionsError(`${what} "${name}" must be letters, digits, '.', '_' or '-' (it names the files)`);
  if (name === 'ca') throw new CertificateOptionsError(`${what} may not be named "ca" (ca.key and ca.pem are the CA's)`);
}

function subjectAltNames(hosts: readonly string[]): string {
  return hosts.map((host) => (isIP(host) !== 0 ? `IP:${host}` : `DNS:${host}`)).join(',');
}

/** The password on openssl's stdin (`-pass stdin` reads its first line; without one, an empty line). */
function passwordInput(password: string | undefined): string {
  return `${password ?? ''}\n`;
}

/**
 * A new PKCS#8 private key at `path`, mode 0600; with a password, encrypted PKCS#8 with
 * PBEWithSHA1AndDESede (`-v1 PBE-SHA1-3DES`): Kafka opens an encrypted key with the JDK's
 * SecretKeyFactory named by EncryptedPrivateKeyInfo.getAlgName(), which on JDK 17 is "PBES2"
 * for openssl's default (PBES2, AES-256-CBC) and no such factory exists, so that key would fail
 * to load; PBEWithSHA1AndDESede opens on every JDK (Kafka's own tests use it), and in
 * OpenSSL (librdkafka) and Node. Weaker than PBES2, which for a test or dev key is acceptable.
 */
async function newKey(path: string, work: string, keyType: KeyType, password: string | undefined): Promise<void> {
  const algorithm = keyType === 'ec' ? ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'];
  if (password === undefined) {
    await openssl(['genpkey', ...algorithm, '-out', path]);
  } else {
    const plain = join(work, 'plain.key');
    await openssl(['genpkey', ...algorithm, '-out', plain]);
    await openssl(['pkcs8', '-topk8', '-v1', 'PBE-SHA1-3DES', '-in', plain, '-passout', 'stdin', '-out', path], passwordInput(password));
    rmSync(plain, { force: true });
  }
  chmodSync(path, 0o600);
}

/** openssl's configuration for `req` (so the system's openssl.cnf and its default extensions play no part). */
const REQ_CONFIG = ['[req]', 'distinguished_name = dn', 'prompt = no', '[dn]', 'CN = unused', ''].join('\n');

function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0]! &= 0x7f; // positive
  return `0x${bytes.toString('hex')}`;
}

/**
 * Makes the CA (or reuses the one in `dir`) and a key, certificate and PEM keystore for each
 * broker and client. Throws OpensslMissingError without openssl, CertificateOptionsError for
 * bad names or hosts, an Error with openssl's message when it fails (e.g. an existing CA key
 * that the password does not open).
 */
export async function makeCertificates(options: CertificateOptions): Promise<CertificateFiles> {
  const dir = resolve(options.dir);
  const keyType = options.keyType ?? 'ec';
  const days = options.days ?? DEFAULT_DAYS;
  const password = options.keyPassword;
  if (!Number.isSafeInteger(days) || days < 1) throw new CertificateOptionsError(`days must be a positive integer, got ${days}`);
  if (password === '') throw new CertificateOptionsError('the key password is empty');
  if (password !== undefined && /[\r\n]/.test(password)) throw new CertificateOptionsError('the key password must be one line');
  const brokers = (options.brokers ?? []).map((broker) => ({ name: broker.name, hosts: [...(broker.hosts === undefined || broker.hosts.length === 0 ? DEFAULT_BROKER_HOSTS : broker.hosts)] }));
  const clients = [...(options.clients ?? [])];
  const names = new Set<string>();
  for (const [what, name] of [...brokers.map((b) => ['broker name', b.name] as const), ...clients.map((c) => ['client name', c] as const)]) {
    checkName(what, name);
    if (names.has(name)) throw new CertificateOptionsError(`"${name}" is named twice (each broker and client has its own files)`);
    names.add(name);
  }
  for (const host of brokers.flatMap((b) => b.hosts)) {
    if (isIP(host) === 0 && !HOST_PATTERN.test(host)) throw new CertificateOptionsError(`host "${host}" is neither an IP address nor a DNS name`);
  }

  mkdirSync(dir, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'spate-certs-'));
  try {
    const config = join(work, 'req.cnf');
    writeFileSync(config, REQ_CONFIG);
    // Always from stdin: without a password, an encrypted key then fails instead of openssl asking
    // on the terminal.
    const passin = ['-passin', 'stdin'];

    const ca = { key: join(dir, 'ca.key'), certificate: join(dir, 'ca.pem'), reused: false };
    if (!options.newCa && existsSync(ca.key) && existsSync(ca.certificate)) {
      ca.reused = true;
      // The key must open (with the password, if any) before anything is signed with it.
      try {
        await openssl(['pkey', '-in', ca.key, ...passin, '-noout'], passwordInput(password));
      } catch (error) {
        if (error instanceof OpensslMissingError) throw error;
        throw new CertificateOptionsError(
          `the CA key ${ca.key} does not open ${password === undefined ? 'without a password (give the --key-password it was made with)' : 'with this key password'}, or use --new-ca for a new CA`,
        );
      }
    } else {
      await newKey(ca.key, work, keyType, password);
      // openssl 3.0's req has no -extfile: the extensions are a section of its configuration.
      const caConfig = join(work, 'ca.cnf');
      writeFileSync(caConfig, [REQ_CONFIG, '[ext]', 'basicConstraints = critical, CA:TRUE', 'keyUsage = critical, keyCertSign, cRLSign', 'subjectKeyIdentifier = hash', ''].join('\n'));
      await openssl(
        ['req', '-x509', '-new', '-config', caConfig, '-key', ca.key, ...passin, '-subj', CA_SUBJECT, '-sha256', '-days', String(days), '-set_serial', randomSerial(), '-extensions', 'ext', '-out', ca.certificate],
        passwordInput(password),
      );
    }

    const issue = async (name: string, extensionLines: readonly string[]): Promise<EntityFiles> => {
      const files = { name, key: join(dir, `${name}.key`), certificate: join(dir, `${name}.pem`), keystore: join(dir, `${name}.keystore.pem`) };
      await newKey(files.key, work, keyType, password);
      const request = join(work, `${name}.csr`);
      await openssl(['req', '-new', '-config', config, '-key', files.key, ...passin, '-subj', `/CN=${name}`, '-sha256', '-out', request], passwordInput(password));
      const extensions = join(work, `${name}.ext`);
      const keyUsage = keyType === 'rsa' ? 'critical, digitalSignature, keyEncipherment' : 'critical, digitalSignature';
      writeFileSync(extensions, ['[ext]', 'basicConstraints = critical, CA:FALSE', `keyUsage = ${keyUsage}`, 'subjectKeyIdentifier = hash', 'authorityKeyIdentifier = keyid', ...extensionLines, ''].join('\n'));
      await openssl(
        ['x509', '-req', '-in', request, '-CA', ca.certificate, '-CAkey', ca.key, ...passin, '-set_serial', randomSerial(), '-sha256', '-days', String(days), '-extfile', extensions, '-extensions', 'ext', '-out', files.certificate],
        passwordInput(password),
      );
      writeFileSync(files.keystore, [readFileSync(files.key, 'utf8'), readFileSync(files.certificate, 'utf8'), readFileSync(ca.certificate, 'utf8')].map((pem) => pem.trimEnd()).join('\n') + '\n', { mode: 0o600 });
      chmodSync(files.keystore, 0o600);
      return files;
    };

    const brokerFiles: (EntityFiles & { hosts: readonly string[] })[] = [];
    for (const broker of brokers) {
      const files = await issue(broker.name, ['extendedKeyUsage = serverAuth, clientAuth', `subjectAltName = ${subjectAltNames(broker.hosts)}`]);
      brokerFiles.push({ ...files, hosts: broker.hosts });
    }
    const clientFiles: EntityFiles[] = [];
    for (const client of clients) clientFiles.push(await issue(client, ['extendedKeyUsage = clientAuth']));
    return { dir, ca, brokers: brokerFiles, clients: clientFiles };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** What to put in the broker's and the clients' configurations, for the files made. */
export function configurationSnippets(files: CertificateFiles, keyPassword: boolean): string[] {
  const lines: string[] = [];
  const password = keyPassword ? ['ssl.key.password=<the --key-password>'] : [];
  for (const broker of files.brokers) {
    lines.push(
      `# broker ${broker.name} (server.properties; SSL or SASL_SSL listener${files.clients.length > 0 ? ', ssl.client.auth=required for client certificates' : ''})`,
      'ssl.keystore.type=PEM',
      `ssl.keystore.location=${broker.keystore}`,
      ...password,
      'ssl.truststore.type=PEM',
      `ssl.truststore.location=${files.ca.certificate}`,
      '',
    );
  }
  const clients = files.clients.length > 0 ? files.clients : [null];
  for (const client of clients) {
    lines.push(
      `# kcat / librdkafka${client === null ? ' (server certificate checked, no client certificate)' : ` as ${client.name}`}`,
      'security.protocol=SSL',
      `ssl.ca.location=${files.ca.certificate}`,
      ...(client === null ? [] : [`ssl.certificate.location=${client.certificate}`, `ssl.key.location=${client.key}`, ...(keyPassword ? ['ssl.key.password=<the --key-password>'] : [])]),
      '',
      `# Kafka's Java clients${client === null ? '' : ` as ${client.name}`} (--command-config / client.properties)`,
      'security.protocol=SSL',
      'ssl.truststore.type=PEM',
      `ssl.truststore.location=${files.ca.certificate}`,
      ...(client === null ? [] : ['ssl.keystore.type=PEM', `ssl.keystore.location=${client.keystore}`, ...password]),
      '',
    );
  }
  return lines;
}

function parseKeyType(args: ParsedArgs): KeyType {
  const value = (args.value('key-type') ?? 'ec').toLowerCase();
  if (value !== 'ec' && value !== 'rsa') throw new UsageError(`--key-type must be ec or rsa, got "${args.value('key-type')}"`);
  return value;
}

export const certs: Command = {
  spec: {
    name: 'certs',
    summary: 'Make a CA and broker/client certificates for SSL listeners in a test or dev setup (with openssl).',
    synopsis: 'certs --dir DIR [--broker NAME]... [--host HOST]... [--client NAME]... [--key-password PASSWORD] [--days N] [--key-type ec|rsa] [--new-ca]',
    details: [
      'Writes, in --dir: ca.key and ca.pem (a CA, reused when both exist unless --new-ca); for',
      'each broker and client NAME.key (PKCS#8), NAME.pem (signed by the CA) and NAME.keystore.pem',
      '(key, certificate, CA certificate: Kafka\'s ssl.keystore.type=PEM). Broker certificates carry',
      'every --host as a subjectAltName (default localhost and 127.0.0.1); client certificates have',
      'the subject CN=NAME, the DN Kafka\'s ssl.principal.mapping.rules see. --key-password encrypts',
      'the keys (PKCS#8, what ssl.key.password opens). Then prints the broker\'s and the clients\'',
      'settings. Needs the openssl command (apt-get install openssl); without it, exit 2.',
    ].join('\n'),
    options: [
      { name: 'dir', kind: 'value', valueName: 'DIR', help: 'where to write the files (created if missing)' },
      { name: 'broker', kind: 'list', valueName: 'NAME', help: 'a broker certificate (repeatable)' },
      { name: 'host', kind: 'list', valueName: 'HOST', help: 'a DNS name or IP address for every broker certificate (repeatable; default localhost and 127.0.0.1)' },
      { name: 'client', kind: 'list', valueName: 'NAME', help: 'a client certificate with subject CN=NAME (repeatable)' },
      { name: 'key-password', kind: 'value', valueName: 'PASSWORD', help: 'encrypt the keys with this password (default: unencrypted)' },
      { name: 'days', kind: 'value', valueName: 'N', help: `validity of new certificates (default ${DEFAULT_DAYS})` },
      { name: 'key-type', kind: 'value', valueName: 'ec|rsa', help: 'EC P-256 (default) or RSA 2048' },
      { name: 'new-ca', kind: 'flag', help: 'make a new CA even if ca.key and ca.pem exist in DIR' },
    ],
    minPositionals: 0,
    maxPositionals: 0,
  },
  async run(args) {
    const dir = args.value('dir');
    if (dir === undefined || dir === '') throw new UsageError('certs needs --dir DIR');
    const keyPassword = args.value('key-password');
    const hosts = args.list('host');
    const options: CertificateOptions = {
      dir,
      brokers: args.list('broker').map((name) => ({ name, hosts })),
      clients: args.list('client'),
      days: args.int('days', DEFAULT_DAYS, 1, 100 * 366),
      keyType: parseKeyType(args),
      newCa: args.flag('new-ca'),
      ...(keyPassword === undefined ? {} : { keyPassword }),
    };
    if (hosts.length > 0 && options.brokers!.length === 0) throw new UsageError('--host is for broker certificates: give --broker NAME too');
    let files: CertificateFiles;
    try {
      files = await makeCertificates(options);
    } catch (error) {
      if (error instanceof OpensslMissingError || error instanceof CertificateOptionsError) {
        printError(error.message);
        return ExitCode.USAGE;
      }
      throw error;
    }
    printLine(files.ca.reused ? `Reused the CA in ${files.ca.certificate} (its key ${files.ca.key}).` : `Wrote the CA: ${files.ca.key}, ${files.ca.certificate}`);
    for (const broker of files.brokers) printLine(`Wrote broker ${broker.name} (${broker.hosts.join(', ')}): ${broker.key}, ${broker.certificate}, ${broker.keystore}`);
    for (const client of files.clients) printLine(`Wrote client ${client.name} (CN=${client.name}): ${client.key}, ${client.certificate}, ${client.keystore}`);
    printLine('');
    for (const line of configurationSnippets(files, keyPassword !== undefined)) printLine(line);
    return ExitCode.OK;
  },
};
