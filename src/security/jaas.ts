// sasl.jaas.config as Kafka reads it, for the password logins Spate speaks: a client's
// (the CLI's --command-config) and a broker's own on a SASL inter-broker listener
// (listener.name.<listener>.<mechanism>.sasl.jaas.config).

/** Login modules whose `username` and `password` options are a password login (Kafka's ScramLoginModule and PlainLoginModule). */
const PASSWORD_LOGIN_MODULES = new Set(['org.apache.kafka.common.security.scram.ScramLoginModule', 'org.apache.kafka.common.security.plain.PlainLoginModule']);
const CONTROL_FLAGS = new Set(['required', 'requisite', 'sufficient', 'optional']);

/** A sasl.jaas.config that is not one password login; the message says what is wrong (never the password). */
export class JaasError extends Error {
  override readonly name = 'JaasError';
}

/**
 * The username and password of a JAAS line as Kafka reads sasl.jaas.config: one login module,
 * its control flag, `key=value` options (values quoted or not), and a closing `;`.
 */
export function parseJaasPasswordLogin(text: string): { username: string; password: string } {
  const fail = (why: string): never => {
    throw new JaasError(`sasl.jaas.config ${why} (expected: <LoginModule> required username="…" password="…";)`);
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

