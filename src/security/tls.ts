// TLS for SSL and SASL_SSL listeners, and for a broker connecting to another on one, from
// Kafka's ssl.* keys (config/broker-config.ts checks them; this module reads the files).
//
// - Key stores: PEM (KIP-651: a private key — encrypted PKCS#8 opened with ssl.key.password,
//   or not — followed by its certificate chain, in ssl.keystore.location or inline in
//   ssl.keystore.key and ssl.keystore.certificate.chain) or PKCS12 (ssl.keystore.password).
//   Trust stores: PEM certificates; none set, Node's bundled CAs.
// - A listener's connections are accepted by its own net.Server (connection quotas and socket
//   buffers apply before a byte of TLS), then handed to a tls.Server of this module that never
//   listens (`emit('connection')`, the way Node documents for injecting sockets): it runs the
//   handshake, bounded by limits.tlsHandshakeTimeoutMs, and checks the client certificate.
// - ssl.client.auth: required refuses a client without a trusted certificate; requested takes
//   one without (User:ANONYMOUS) but, as Java's SSLEngine does, fails one whose certificate is
//   not trusted; none asks for nothing. The principal of a certificate is its subject (RFC 2253)
//   mapped by ssl.principal.mapping.rules; a subject no rule maps fails the connection.
// - Certificate rotation: the files are checked every limits.tlsFileCheckIntervalMs; a change
//   builds a new secure context for the connections that arrive from then on (those open keep
//   theirs). Files that do not make a valid context (a key written before its certificate)
//   leave the old one in place and are tried again at their next change.
// - Renegotiation (TLS 1.2; 1.3 has none) is refused, as Kafka's SslTransportLayer refuses it:
//   Node's own limit (tls.CLIENT_RENEG_LIMIT) only emits an 'error' on the socket, which the
//   connection logs and serves on, so a client could make the broker run full handshakes
//   without end.

import { constants as cryptoConstants, X509Certificate } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { createSecureContext, Server as TlsServer, type ConnectionOptions, type SecureContextOptions, type TLSSocket, type TlsOptions } from 'node:tls';
import type { Socket } from 'node:net';
import { ConfigError, type TlsSettings } from '../config/broker-config.js';
import { limits } from '../config/limits.js';
import type { Logger } from '../logger.js';
import { ANONYMOUS } from './sasl-session.js';
import { distinguishedName, parsePrincipalMappingRules, type PrincipalMapper } from './principal-mapping.js';

/** The TLS 1.3 suites, which OpenSSL names as IANA does and configures apart from the others. */
const TLS13_SUITES = new Set(['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_CCM_SHA256', 'TLS_AES_128_CCM_8_SHA256']);

/** IANA names (as Java and so Kafka's ssl.cipher.suites write them) of the TLS 1.2 suites worth enabling, and OpenSSL's names for them. */
const TLS12_SUITES: ReadonlyMap<string, string> = new Map([
  ['TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 'ECDHE-ECDSA-AES128-GCM-SHA256'],
  ['TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384', 'ECDHE-ECDSA-AES256-GCM-SHA384'],
  ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'ECDHE-RSA-AES128-GCM-SHA256'],
  ['TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', 'ECDHE-RSA-AES256-GCM-SHA384'],
  ['TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256', 'ECDHE-ECDSA-CHACHA20-POLY1305'],
  ['TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256', 'ECDHE-RSA-CHACHA20-POLY1305'],
  ['TLS_DHE_RSA_WITH_AES_128_GCM_SHA256', 'DHE-RSA-AES128-GCM-SHA256'],
  ['TLS_DHE_RSA_WITH_AES_256_GCM_SHA384', 'DHE-RSA-AES256-GCM-SHA384'],
  ['TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256', 'ECDHE-ECDSA-AES128-SHA256'],
  ['TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256', 'ECDHE-RSA-AES128-SHA256'],
  ['TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384', 'ECDHE-ECDSA-AES256-SHA384'],
  ['TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384', 'ECDHE-RSA-AES256-SHA384'],
]);

/** A PEM value written on one line (as in a properties file) with its line breaks restored. */
function pemText(text: string): string {
  if (text.includes('\n')) return text;
  return text.replace(/(-----BEGIN [A-Z0-9 ]+-----)\s*/g, '$1\n').replace(/\s*(-----END [A-Z0-9 ]+-----)/g, '\n$1\n');
}

/** The PEM blocks of a text, by their label (CERTIFICATE, PRIVATE KEY, ENCRYPTED PRIVATE KEY…). */
function pemBlocks(text: string): { label: string; block: string }[] {
  return [...pemText(text).matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g)].map((match) => ({ label: match[1]!, block: match[0] }));
}

function readKeyFile(settings: TlsSettings, key: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError(settings.keyOf(key), `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** ssl.cipher.suites as Node's `ciphers`: OpenSSL's names of the TLS 1.2 suites, and the TLS 1.3 ones (whose names are IANA's). */
function cipherOptions(settings: TlsSettings): Pick<SecureContextOptions, 'ciphers' | 'minVersion' | 'maxVersion'> {
  if (settings.cipherSuites.length === 0) return {};
  const tls12: string[] = [];
  const tls13: string[] = [];
  for (const suite of settings.cipherSuites) {
    if (TLS13_SUITES.has(suite)) tls13.push(suite);
    else if (TLS12_SUITES.has(suite)) tls12.push(TLS12_SUITES.get(suite)!);
    else if (/^[A-Z0-9]+(-[A-Z0-9]+)+$/.test(suite)) tls12.push(suite); // OpenSSL's own name
    else throw new ConfigError(settings.keyOf('ssl.cipher.suites'), `${suite} is not a cipher suite Spate knows (IANA names of TLS 1.3 and ECDHE/DHE AEAD suites, or OpenSSL names)`);
  }
  // Naming suites of one version only leaves the other version without any, as in Java: that version is off.
  if (tls12.length === 0) {
    if (settings.maxVersion !== 'TLSv1.3') throw new ConfigError(settings.keyOf('ssl.cipher.suites'), 'names only TLS 1.3 suites, and ssl.enabled.protocols has no TLSv1.3');
    return { ciphers: tls13.join(':'), minVersion: 'TLSv1.3' };
  }
  if (tls13.length === 0) {
    if (settings.minVersion === 'TLSv1.3') throw new ConfigError(settings.keyOf('ssl.cipher.suites'), 'names no TLS 1.3 suite, and ssl.enabled.protocols has only TLSv1.3');
    return { ciphers: tls12.join(':'), maxVersion: 'TLSv1.2' };
  }
  return { ciphers: [...tls13, ...tls12].join(':') };
}

/**
 * The key, certificate chain and trusted CAs of a TLS listener (or of a broker's connection
 * to one), read from disk now. A file that cannot be read or does not make a valid context
 * is a ConfigError naming its key.
 */
export function secureContextOptions(settings: TlsSettings): SecureContextOptions {
  const options: { -readonly [K in keyof SecureContextOptions]: SecureContextOptions[K] } = {
    minVersion: settings.minVersion,
    maxVersion: settings.maxVersion,
    ...cipherOptions(settings),
  };
  if (settings.keystoreType === 'PKCS12') {
    options.pfx = readKeyFile(settings, 'ssl.keystore.location', settings.keystoreLocation!);
    const password = settings.keystorePassword ?? settings.keyPassword;
    if (password !== null) options.passphrase = password;
  } else {
    const keyText = settings.keystoreKey !== null ? settings.keystoreKey : readKeyFile(settings, 'ssl.keystore.location', settings.keystoreLocation!).toString('utf8');
    const chainText = settings.keystoreCertificateChain ?? keyText;
    const keys = pemBlocks(keyText).filter((block) => block.label.endsWith('PRIVATE KEY'));
    const certificates = pemBlocks(chainText).filter((block) => block.label === 'CERTIFICATE');
    const where = settings.keystoreLocation ?? 'ssl.keystore.key';
    if (keys.length !== 1) throw new ConfigError(settings.keyOf(settings.keystoreLocation !== null ? 'ssl.keystore.location' : 'ssl.keystore.key'), `${where} holds ${keys.length} private keys; a PEM key store holds one`);
    if (certificates.length === 0) throw new ConfigError(settings.keyOf(settings.keystoreLocation !== null ? 'ssl.keystore.location' : 'ssl.keystore.certificate.chain'), `${where} holds no certificate; a PEM key store holds the key's certificate chain`);
    options.key = keys[0]!.block;
    options.cert = certificates.map((certificate) => certificate.block).join('\n');
    if (settings.keyPassword !== null) options.passphrase = settings.keyPassword;
  }
  const trusted = settings.truststoreCertificates ?? (settings.truststoreLocation !== null ? readKeyFile(settings, 'ssl.truststore.location', settings.truststoreLocation).toString('utf8') : null);
  if (trusted !== null) {
    const certificates = pemBlocks(trusted).filter((block) => block.label === 'CERTIFICATE');
    if (certificates.length === 0) throw new ConfigError(settings.keyOf(settings.truststoreLocation !== null ? 'ssl.truststore.location' : 'ssl.truststore.certificates'), 'holds no PEM certificate');
    options.ca = certificates.map((certificate) => certificate.block);
  }
  try {
    createSecureContext(options);
  } catch (error) {
    const key = settings.keystoreLocation !== null ? 'ssl.keystore.location' : 'ssl.keystore.key';
    throw new ConfigError(settings.keyOf(key), `the key store does not make a TLS context: ${(error as Error).message}${settings.keyPassword === null && settings.keystorePassword === null ? ' (an encrypted key needs ssl.key.password)' : ''}`);
  }
  return options;
}

/** OpenSSL options of a listener's contexts: no renegotiation. */
const SERVER_SECURE_OPTIONS = cryptoConstants.SSL_OP_NO_RENEGOTIATION;

/** The files a TLS context is read from (what is watched for rotation). */
function watchedFiles(settings: TlsSettings): string[] {
  return [settings.keystoreLocation, settings.truststoreLocation].filter((path): path is string => path !== null);
}

/** A TLS connection whose handshake succeeded, with the principal of its certificate (User:ANONYMOUS without one). */
export type SecureConnection = (socket: TLSSocket, certificatePrincipal: string) => void;

/**
 * One TLS listener's handshakes: sockets accepted by the listener come in through `accept`,
 * and leave through `secure` once the handshake and the certificate checks pass; the rest
 * are destroyed here.
 */
export class TlsTerminator {
  private readonly server: TlsServer;
  private readonly mapper: PrincipalMapper;
  private readonly files: string[];
  private closed = false;

  constructor(
    private readonly listener: string,
    private readonly settings: TlsSettings,
    private readonly logger: Logger,
    private readonly secure: SecureConnection,
    /**
     * A connection refused, for a rate-limited log line (a scanner's junk must not flood the
     * log): failed handshakes and refused certificates are counted apart, so junk does not hide
     * why a real client was refused.
     */
    private readonly refused: (kind: 'handshake' | 'certificate', message: string) => void,
  ) {
    this.mapper = parsePrincipalMappingRules(settings.principalMappingRules);
    const options: TlsOptions = {
      ...secureContextOptions(settings),
      secureOptions: SERVER_SECURE_OPTIONS,
      requestCert: settings.clientAuth !== 'none',
      // Checked in `established`, which logs why a client is refused (Node would drop it silently).
      rejectUnauthorized: false,
      handshakeTimeout: limits.tlsHandshakeTimeoutMs,
    };
    this.server = new TlsServer(options, (socket) => this.established(socket));
    this.server.on('tlsClientError', (error, socket) => {
      this.refused('handshake', `TLS handshake with ${socket.remoteAddress ?? '?'} on listener ${listener} failed: ${error.message}`);
      socket.destroy();
    });
    this.files = watchedFiles(settings);
    for (const file of this.files) watchFile(file, { persistent: false, interval: limits.tlsFileCheckIntervalMs }, (now, before) => this.fileChanged(file, now.mtimeMs, before.mtimeMs));
    logger.info(`listener ${listener}: TLS ${settings.minVersion}..${settings.maxVersion}, ssl.client.auth=${settings.clientAuth}, certificate ${describeCertificate(options.cert)}`);
  }

  /** A socket the listener accepted: its handshake starts. */
  accept(socket: Socket): void {
    this.server.emit('connection', socket);
  }

  private established(socket: TLSSocket): void {
    const certificate = this.settings.clientAuth === 'none' ? undefined : socket.getPeerX509Certificate();
    if (certificate === undefined) {
      if (this.settings.clientAuth === 'required') {
        this.refused('certificate', `refusing ${socket.remoteAddress ?? '?'} on listener ${this.listener}: it gave no certificate (ssl.client.auth=required)`);
        socket.destroy();
        return;
      }
      this.secure(socket, ANONYMOUS);
      return;
    }
    if (!socket.authorized) {
      // required or requested: a certificate that is given must be trusted.
      this.refused('certificate', `refusing ${socket.remoteAddress ?? '?'} on listener ${this.listener}: its certificate is not trusted (${String(socket.authorizationError)})`);
      socket.destroy();
      return;
    }
    let principal: string;
    try {
      principal = `User:${this.mapper.principalName(distinguishedName(certificate))}`;
    } catch (error) {
      this.refused('certificate', `refusing ${socket.remoteAddress ?? '?'} on listener ${this.listener}: ${(error as Error).message}`);
      socket.destroy();
      return;
    }
    this.secure(socket, principal);
  }

  private fileChanged(file: string, nowMs: number, beforeMs: number): void {
    if (this.closed || nowMs === beforeMs) return;
    let options: SecureContextOptions;
    try {
      options = secureContextOptions(this.settings);
    } catch (error) {
      this.logger.error(`listener ${this.listener}: ${file} changed, but the TLS files do not make a valid context; keeping the previous one (${(error as Error).message})`);
      return;
    }
    this.server.setSecureContext({ ...options, secureOptions: SERVER_SECURE_OPTIONS });
    this.logger.info(`listener ${this.listener}: ${file} changed; new connections get certificate ${describeCertificate(options.cert)}`);
  }

  close(): void {
    this.closed = true;
    for (const file of this.files) unwatchFile(file);
  }
}

/** The leaf certificate's subject and expiry, for the log. */
function describeCertificate(cert: SecureContextOptions['cert']): string {
  if (typeof cert !== 'string') return '(PKCS12)';
  try {
    const leaf = new X509Certificate(cert);
    return `${leaf.subject.replace(/\n/g, ', ')} (valid to ${leaf.validTo})`;
  } catch {
    return '(unreadable)';
  }
}

/**
 * A broker's TLS options for connecting to another broker's listener with these settings:
 * its own key store as the client certificate (what ssl.client.auth=required asks for), the
 * trust store for the other's certificate, and the host name checked unless
 * ssl.endpoint.identification.algorithm is empty.
 */
export function clientTlsOptions(settings: TlsSettings): ConnectionOptions {
  const { minVersion, maxVersion, ciphers, key, cert, pfx, passphrase, ca } = secureContextOptions(settings);
  const options: ConnectionOptions = { minVersion, maxVersion, ciphers, key, cert, pfx, passphrase, ca };
  return settings.endpointIdentification ? options : { ...options, checkServerIdentity: () => undefined };
}
