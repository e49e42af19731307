// `--command-config FILE`: the client properties file Kafka's tools read (kafka-topics.sh
// --command-config, kafka-configs.sh --command-config), so an operator's existing file works
// with spate unchanged. What spate takes from it is the login for a SASL listener and TLS:
//
//   security.protocol=SASL_PLAINTEXT
//   sasl.mechanism=SCRAM-SHA-512
//   sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \
//     username="alice" password="alice-secret";
//
// or, with librdkafka's names for the same, `sasl.username=` and `sasl.password=` instead of
// the JAAS line (`sasl.mechanisms=` is librdkafka's spelling of `sasl.mechanism=`).
// PlainLoginModule goes with PLAIN. The file is a Java properties file (comments with # or !,
// `key=value`, `key: value` or `key value`, lines continued with a trailing backslash,
// backslash escapes). SSL and SASL_SSL connect with TLS from the file's ssl.* keys (Kafka's
// Java client names or librdkafka's, PEM and PKCS12; tlsOptionsOf). A mechanism other than
// PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 (Kafka's default GSSAPI among them) is refused. Keys spate does not use are named on stderr, as Kafka's clients warn of
// them, and otherwise ignored. Every mistake is a UsageError naming the file and the key.

import { readFileSync } from 'node:fs';
import { createSecureContext, type ConnectionOptions } from 'node:tls';
import { UsageError } from './errors.js';
import { JaasError, parseJaasPasswordLogin } from '../security/jaas.js';
import { SASL_MECHANISM_NAMES, type SaslMechanismName, type SaslOptions } from '../network/kafka-client.js';

/** The largest file read: a client properties file is a few lines. */
const CLIENT_CONFIG_BYTES_MAX = 1024 * 1024;
/** The TLS keys read, in Kafka's Java client spelling and librdkafka's. */
const TLS_KEYS: readonly string[] = [
  'ssl.truststore.location', 'ssl.truststore.type', 'ssl.truststore.certificates', 'ssl.truststore.password',
  'ssl.keystore.location', 'ssl.keystore.type', 'ssl.keystore.password', 'ssl.key.password', 'ssl.keystore.key', 'ssl.keystore.certificate.chain',
  'ssl.endpoint.identification.algorithm',
  'ssl.ca.location', 'ssl.certificate.location', 'ssl.key.location', 'enable.ssl.certificate.verification',
];
/** The keys spate reads; any other is named on stderr and ignored. */
const KNOWN_KEYS = new Set(['security.protocol', 'sasl.mechanism', 'sasl.mechanisms', 'sasl.jaas.config', 'sasl.username', 'sasl.password', ...TLS_KEYS]);

/** What a client properties file asks of the connection. */
export interface ClientConfig {
  /** The login (security.protocol=SASL_PLAINTEXT or SASL_SSL); absent for PLAINTEXT and SSL. */
  readonly sasl?: SaslOptions;
  /** TLS (security.protocol=SSL or SASL_SSL); absent for the plaintext protocols. */
  readonly tls?: ConnectionOptions;
  /** Keys the file sets that spate does not use, each with why, for stderr. */
  readonly warnings: readonly string[];
}

/** Reads and checks `--command-config FILE`. */
export function readClientConfig(path: string): ClientConfig {
  let text: string;
  try {
    const bytes = readFileSync(path);
    if (bytes.length > CLIENT_CONFIG_BYTES_MAX) throw new Error(`it has ${bytes.length} bytes; a client properties file has at most ${CLIENT_CONFIG_BYTES_MAX}`);
    text = bytes.toString('utf8');
  } catch (error) {
    throw new UsageError(`--command-config ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  return clientConfigOf(parseProperties(text), `--command-config ${path}`);
}

/** Checks the properties of a client config; `where` names the file in errors. */
export function clientConfigOf(properties: ReadonlyMap<string, string>, where: string): ClientConfig {
  const warnings = [...properties.keys()].filter((key) => !KNOWN_KEYS.has(key)).map((key) => `${where}: ${key} is not used by spate`);
  const protocol = (properties.get('security.protocol') ?? 'PLAINTEXT').trim().toUpperCase();
  if (!['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'].includes(protocol)) throw new UsageError(`${where}: security.protocol=${protocol} is not one of PLAINTEXT, SASL_PLAINTEXT, SSL, SASL_SSL`);
  const secured = protocol === 'SSL' || protocol === 'SASL_SSL';
  const unusedTls = [...properties.keys()].filter((key) => TLS_KEYS.includes(key));
  if (!secured && unusedTls.length > 0) warnings.push(`${where}: ${unusedTls.join(', ')} not used: security.protocol is ${protocol} (SSL and SASL_SSL use TLS)`);
  const tls = secured ? { tls: tlsOptionsOf(properties, where) } : {};
  if (protocol === 'PLAINTEXT' || protocol === 'SSL') {
    const unused = [...properties.keys()].filter((key) => KNOWN_KEYS.has(key) && key.startsWith('sasl.'));
    if (unused.length > 0) warnings.push(`${where}: ${unused.join(', ')} not used: security.protocol is ${protocol} (SASL_PLAINTEXT and SASL_SSL log in)`);
    return { ...tls, warnings };
  }

  const mechanismText = properties.get('sasl.mechanism') ?? properties.get('sasl.mechanisms');
  // Kafka's default is GSSAPI (Kerberos), which is not served.
  const mechanism = (mechanismText ?? 'GSSAPI').trim().toUpperCase();
  if (!(SASL_MECHANISM_NAMES as readonly string[]).includes(mechanism)) {
    const given = mechanismText === undefined ? 'no sasl.mechanism, so Kafka\'s default GSSAPI,' : `sasl.mechanism=${mechanism}`;
    throw new UsageError(`${where}: ${given} is not served; set sasl.mechanism to one of ${SASL_MECHANISM_NAMES.join(', ')}`);
  }
  const jaas = properties.get('sasl.jaas.config');
  const username = properties.get('sasl.username');
  const password = properties.get('sasl.password');
  let login: { username: string; password: string };
  if (jaas !== undefined) {
    if (username !== undefined || password !== undefined) throw new UsageError(`${where}: give sasl.jaas.config or sasl.username and sasl.password, not both`);
    login = parseJaasLogin(jaas, where);
  } else {
    if (username === undefined || password === undefined) {
      throw new UsageError(`${where}: security.protocol=${protocol} needs sasl.jaas.config, or sasl.username and sasl.password`);
    }
    login = { username, password };
  }
  if (login.username === '') throw new UsageError(`${where}: the user name is empty`);
  if (mechanism === 'PLAIN' && (login.username.includes('\u0000') || login.password.includes('\u0000'))) throw new UsageError(`${where}: a PLAIN user name or password cannot contain NUL`);
  return { sasl: { mechanism: mechanism as SaslMechanismName, ...login }, ...tls, warnings };
}


/**
 * node:tls options from a client's ssl.* keys: the CAs trusted (ssl.truststore.location or
 * .certificates with ssl.truststore.type=PEM, or librdkafka's ssl.ca.location; none: Node's
 * bundled CAs), the client's own key and certificate for ssl.client.auth (a PEM or PKCS12
 * ssl.keystore.location, inline ssl.keystore.key and .certificate.chain, or librdkafka's
 * ssl.key.location and ssl.certificate.location; ssl.key.password opens an encrypted key), and
 * the host name check (ssl.endpoint.identification.algorithm=https, Kafka's default; empty,
 * or librdkafka's none, turns it off).
 */
function tlsOptionsOf(properties: ReadonlyMap<string, string>, where: string): ConnectionOptions {
  const get = (key: string): string | undefined => {
    const value = properties.get(key)?.trim();
    return value === '' ? undefined : value;
  };
  const read = (key: string): Buffer => {
    const path = get(key)!;
    try {
      return readFileSync(path);
    } catch (error) {
      throw new UsageError(`${where}: ${key}=${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
    }
  };
  const options: { -readonly [K in keyof ConnectionOptions]: ConnectionOptions[K] } = {};
  const truststoreType = (get('ssl.truststore.type') ?? 'PEM').toUpperCase();
  if ((get('ssl.truststore.location') !== undefined || get('ssl.truststore.certificates') !== undefined) && truststoreType !== 'PEM') {
    throw new UsageError(`${where}: ssl.truststore.type=${truststoreType} is not read by spate; use a PEM trust store (the CA certificates)`);
  }
  if (get('ssl.truststore.location') !== undefined) options.ca = read('ssl.truststore.location');
  else if (get('ssl.truststore.certificates') !== undefined) options.ca = get('ssl.truststore.certificates')!;
  else if (get('ssl.ca.location') !== undefined) options.ca = read('ssl.ca.location');
  const keystoreType = (get('ssl.keystore.type') ?? 'PEM').toUpperCase();
  const password = get('ssl.key.password') ?? get('ssl.keystore.password');
  if (get('ssl.keystore.location') !== undefined) {
    if (keystoreType === 'PKCS12') options.pfx = read('ssl.keystore.location');
    else if (keystoreType === 'PEM') options.key = options.cert = read('ssl.keystore.location');
    else throw new UsageError(`${where}: ssl.keystore.type=${keystoreType} is not read by spate; use PEM or PKCS12`);
  } else if (get('ssl.keystore.key') !== undefined) {
    options.key = get('ssl.keystore.key')!;
    options.cert = get('ssl.keystore.certificate.chain');
  } else if (get('ssl.key.location') !== undefined || get('ssl.certificate.location') !== undefined) {
    if (get('ssl.key.location') === undefined || get('ssl.certificate.location') === undefined) throw new UsageError(`${where}: ssl.key.location and ssl.certificate.location go together`);
    options.key = read('ssl.key.location');
    options.cert = read('ssl.certificate.location');
  }
  if (password !== undefined) options.passphrase = password;
  const identification = (properties.get('ssl.endpoint.identification.algorithm') ?? 'https').trim().toLowerCase();
  if (identification === '' || identification === 'none') options.checkServerIdentity = () => undefined;
  if (get('enable.ssl.certificate.verification')?.toLowerCase() === 'false') options.rejectUnauthorized = false;
  try {
    createSecureContext(options);
  } catch (error) {
    throw new UsageError(`${where}: the TLS settings do not make a TLS context: ${(error as Error).message}`);
  }
  return options;
}

/** The username and password of a sasl.jaas.config line (security/jaas.ts), a mistake being a usage error naming the file. */
export function parseJaasLogin(text: string, where: string): { username: string; password: string } {
  try {
    return parseJaasPasswordLogin(text);
  } catch (error) {
    if (error instanceof JaasError) throw new UsageError(`${where}: ${error.message}`);
    throw error;
  }
}

/** A Java properties file's key → value (java.util.Properties.load's rules; a later key wins). */
export function parseProperties(text: string): Map<string, string> {
  const properties = new Map<string, string>();
  const lines = text.split(/\r\n|\r|\n/);
  for (let index = 0; index < lines.length; index++) {
    let line = lines[index]!.replace(/^[ \t\f]+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    // A line ending in an odd number of backslashes goes on in the next (its leading blanks dropped).
    while (/(?:^|[^\\])(?:\\\\)*\\$/.test(line) && index + 1 < lines.length) line = line.slice(0, -1) + lines[++index]!.replace(/^[ \t\f]+/, '');
    if (/(?:^|[^\\])(?:\\\\)*\\$/.test(line)) line = line.slice(0, -1);
    let keyEnd = 0;
    while (keyEnd < line.length && !/[=: \t\f]/.test(line[keyEnd]!)) keyEnd += line[keyEnd] === '\\' ? 2 : 1;
    keyEnd = Math.min(keyEnd, line.length);
    let valueStart = keyEnd;
    while (valueStart < line.length && /[ \t\f]/.test(line[valueStart]!)) valueStart++;
    if (valueStart < line.length && /[=:]/.test(line[valueStart]!)) valueStart++;
    while (valueStart < line.length && /[ \t\f]/.test(line[valueStart]!)) valueStart++;
    properties.set(unescapeProperty(line.slice(0, keyEnd)), unescapeProperty(line.slice(valueStart)));
  }
  return properties;
}

function unescapeProperty(text: string): string {
  return text.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, escaped: string) => {
    if (escaped.length === 5) return String.fromCharCode(parseInt(escaped.slice(1), 16));
    return ({ t: '\t', n: '\n', r: '\r', f: '\f' } as Record<string, string>)[escaped] ?? escaped;
  });
}
