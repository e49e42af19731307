// `--command-config FILE`: the client properties file Kafka's tools read (kafka-topics.sh
// --command-config, kafka-configs.sh --command-config), so an operator's existing file works
// with spate unchanged. What spate takes from it is the login for a SASL_PLAINTEXT listener:
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
// backslash escapes). SSL and SASL_SSL are refused (neither spate nor the broker speaks TLS
// yet), as is a mechanism other than PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 (Kafka's default
// GSSAPI among them). Keys spate does not use are named on stderr, as Kafka's clients warn of
// them, and otherwise ignored. Every mistake is a UsageError naming the file and the key.

import { readFileSync } from 'node:fs';
import { UsageError } from './errors.js';
import { SASL_MECHANISM_NAMES, type SaslMechanismName, type SaslOptions } from '../network/kafka-client.js';

/** The largest file read: a client properties file is a few lines. */
const CLIENT_CONFIG_BYTES_MAX = 1024 * 1024;
/** The keys spate reads; any other is named on stderr and ignored. */
const KNOWN_KEYS = new Set(['security.protocol', 'sasl.mechanism', 'sasl.mechanisms', 'sasl.jaas.config', 'sasl.username', 'sasl.password']);
/** Login modules whose `username` and `password` options are a password login (Kafka's ScramLoginModule and PlainLoginModule). */
const PASSWORD_LOGIN_MODULES = new Set(['org.apache.kafka.common.security.scram.ScramLoginModule', 'org.apache.kafka.common.security.plain.PlainLoginModule']);
const CONTROL_FLAGS = new Set(['required', 'requisite', 'sufficient', 'optional']);

/** What a client properties file asks of the connection. */
export interface ClientConfig {
  /** The login (security.protocol=SASL_PLAINTEXT); absent for PLAINTEXT. */
  readonly sasl?: SaslOptions;
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
  if (protocol === 'SSL' || protocol === 'SASL_SSL') {
    throw new UsageError(`${where}: security.protocol=${protocol} is not served: Spate speaks no TLS yet (PLAINTEXT and SASL_PLAINTEXT are served)`);
  }
  if (protocol === 'PLAINTEXT') {
    const unused = [...properties.keys()].filter((key) => KNOWN_KEYS.has(key) && key.startsWith('sasl.'));
    if (unused.length > 0) warnings.push(`${where}: ${unused.join(', ')} not used: security.protocol is PLAINTEXT (SASL_PLAINTEXT logs in)`);
    return { warnings };
  }
  if (protocol !== 'SASL_PLAINTEXT') throw new UsageError(`${where}: security.protocol=${protocol} is not one of PLAINTEXT, SASL_PLAINTEXT, SSL, SASL_SSL`);

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
      throw new UsageError(`${where}: security.protocol=SASL_PLAINTEXT needs sasl.jaas.config, or sasl.username and sasl.password`);
    }
    login = { username, password };
  }
  if (login.username === '') throw new UsageError(`${where}: the user name is empty`);
  if (mechanism === 'PLAIN' && (login.username.includes('\u0000') || login.password.includes('\u0000'))) throw new UsageError(`${where}: a PLAIN user name or password cannot contain NUL`);
  return { sasl: { mechanism: mechanism as SaslMechanismName, ...login }, warnings };
}

/**
 * The username and password of a JAAS line as Kafka reads sasl.jaas.config: one login module,
 * its control flag, `key=value` options (values quoted or not), and a closing `;`.
 */
export function parseJaasLogin(text: string, where: string): { username: string; password: string } {
  const fail = (why: string): never => {
    throw new UsageError(`${where}: sasl.jaas.config ${why} (expected: <LoginModule> required username="…" password="…";)`);
  };
  const tokens: { kind: 'word' | 'quoted' | '=' | ';'; text: string }[] = [];
  for (let index = 0; index < text.length; ) {
    const char = text[index]!;
    if (/\s/.test(char)) {
      index++;
    } else if (char === '=' || char === ';') {
      tokens.push({ kind: char, text: char });
      index++;
    } else if (char === '"') {
      let value = '';
      for (index++; ; index++) {
        if (index >= text.length) fail('has a quoted value without its closing quote');
        const next = text[index]!;
        if (next === '"') break;
        if (next === '\\' && index + 1 < text.length) value += text[++index]!;
        else value += next;
      }
      index++;
      tokens.push({ kind: 'quoted', text: value });
    } else {
      const word = /^[^\s=;"]+/.exec(text.slice(index))![0];
      tokens.push({ kind: 'word', text: word });
      index += word.length;
    }
  }
  const [module, flag] = tokens;
  if (module?.kind !== 'word') return fail('names no login module');
  if (!PASSWORD_LOGIN_MODULES.has(module.text)) {
    return fail(`names ${module.text}, which is not served (ScramLoginModule and PlainLoginModule are)`);
  }
  if (flag?.kind !== 'word' || !CONTROL_FLAGS.has(flag.text.toLowerCase())) return fail(`has no control flag after ${module.text}`);
  const options = new Map<string, string>();
  let at = 2;
  while (at < tokens.length && tokens[at]!.kind !== ';') {
    const [key, equals, value] = [tokens[at], tokens[at + 1], tokens[at + 2]];
    if (key?.kind !== 'word' || equals?.kind !== '=' || (value?.kind !== 'word' && value?.kind !== 'quoted')) return fail('has an option that is not key=value');
    options.set(key.text, value.text);
    at += 3;
  }
  if (at >= tokens.length) return fail('does not end with ";"');
  if (at + 1 < tokens.length) return fail('has more than one login module (Kafka allows one)');
  const username = options.get('username');
  const password = options.get('password');
  if (username === undefined || password === undefined) return fail('has no username or no password option');
  return { username, password };
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
