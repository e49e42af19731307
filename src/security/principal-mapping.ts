// The name an SSL client authenticates as: its certificate's subject as Java's
// X500Principal.getName() writes it (RFC 2253), mapped by Kafka's ssl.principal.mapping.rules
// (KIP-371; Kafka's SslPrincipalMapper, which DefaultKafkaPrincipalBuilder applies to the
// peer's X500Principal to make the principal `User:<name>`).
//
// distinguishedName reads the subject from the certificate's DER, not from Node's
// X509Certificate.subject: that text (OpenSSL's multi-line form, certificate order, ` + `
// between the values of one RDN, RFC 2253 escapes) has neither the attribute's OID for types
// Java writes as an OID nor the value's DER encoding Java then writes (`#hex`), nor the string
// type that decides whether Java writes text or hex. Java's rules, as JDK 17's
// sun.security.x509.AVA.toRFC2253String applies them:
//   - RDNs most specific first (the reverse of the certificate's order), joined by `,`; the
//     values of a multi-valued RDN in their DER order (DER sorts a SET OF), joined by `+`;
//   - keywords only for CN, C, L, ST, O, OU, STREET, DC and UID; any other type (emailAddress,
//     serialNumber, title, …) as its dotted OID with `#` and the hex of the value's whole DER
//     encoding (`1.2.840.113549.1.9.1=#1605612d622e63`);
//   - a value of another string type than UTF8String, PrintableString, TeletexString,
//     IA5String, GeneralString or BMPString is also written `#hex`;
//   - in text values `,=+<>#;"\` are escaped with `\` wherever they are (Java escapes `=` and
//     every `#`, more than RFC 2253 asks), a NUL as `\00`, and every leading or trailing space
//     or CR with `\`; other characters, non-ASCII and control characters included, as they are.
//
// The rules: a comma-separated list of `RULE:pattern/replacement/[L|U]` and `DEFAULT`, split
// and parsed as Kafka's SslPrincipalMapper does (its regular expressions, so what Kafka
// accepts and refuses is the same). The first rule whose pattern matches the whole DN
// (Java's Matcher.matches()) gives the name: the DN with every match of the pattern replaced
// (Java's String.replaceAll, `$1` and `${name}` groups, `\` escapes), then lower- or
// upper-cased with /L or /U; DEFAULT gives the DN as it is. No rule matching is an error (Kafka's
// NoMatchingRule), which the caller makes a failed authentication.
//
// The patterns are Java regular expressions run by JavaScript's engine: the common syntax
// (classes, groups, named groups, lazy quantifiers, anchors) is the same, and a leading
// `(?i)`, `(?s)`, `(?m)` or `(?u)` becomes a flag. What JavaScript lacks or reads otherwise
// (possessive quantifiers `*+`, atomic groups, inline flags elsewhere, and every escape letter
// but d D s S w W b B n r t f c x u k: `\Q…\E`, `\A`, `\Z`, `\z`, `\p{…}`, `\h`, `\v`, `\R`, …) is
// refused at parse time as an invalid rule rather than run with another meaning. Not detected:
// class intersection `&&`, and `\s` also matching Unicode spaces in JavaScript.

import type { X509Certificate } from 'node:crypto';

// ---- the subject's RFC 2253 form ----

interface Der {
  readonly tag: number;
  /** The whole encoding (tag, length, contents). */
  readonly encoding: Buffer;
  readonly contents: Buffer;
}

/** One DER element at `offset` of `buffer`. */
function readDer(buffer: Buffer, offset: number): Der {
  if (offset + 2 > buffer.length) throw new Error('truncated DER');
  const tag = buffer[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new Error('DER tags above 30 are not expected in a certificate name');
  let length = buffer[offset + 1]!;
  let header = 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4 || offset + 2 + bytes > buffer.length) throw new Error('bad DER length');
    length = 0;
    for (let index = 0; index < bytes; index++) length = length * 256 + buffer[offset + 2 + index]!;
    header += bytes;
  }
  const end = offset + header + length;
  if (end > buffer.length) throw new Error('truncated DER');
  return { tag, encoding: buffer.subarray(offset, end), contents: buffer.subarray(offset + header, end) };
}

/** The elements inside a constructed DER element. */
function children(element: Der): Der[] {
  const result: Der[] = [];
  for (let offset = 0; offset < element.contents.length; ) {
    const child = readDer(element.contents, offset);
    result.push(child);
    offset += child.encoding.length;
  }
  return result;
}

function objectIdentifier(contents: Buffer): string {
  if (contents.length === 0) throw new Error('empty OID');
  const arcs: number[] = [];
  let value = 0;
  for (const byte of contents) {
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0;
    }
  }
  const first = arcs.shift()!;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs].join('.');
}

/** The attribute types Java's X500Principal writes with a keyword in RFC 2253 form. */
const RFC2253_KEYWORDS: ReadonlyMap<string, string> = new Map([
  ['2.5.4.3', 'CN'],
  ['2.5.4.6', 'C'],
  ['2.5.4.7', 'L'],
  ['2.5.4.8', 'ST'],
  ['2.5.4.10', 'O'],
  ['2.5.4.11', 'OU'],
  ['2.5.4.9', 'STREET'],
  ['0.9.2342.19200300.100.1.25', 'DC'],
  ['0.9.2342.19200300.100.1.1', 'UID'],
]);

const UTF8_STRING = 0x0c;
const PRINTABLE_STRING = 0x13;
const TELETEX_STRING = 0x14;
const IA5_STRING = 0x16;
const GENERAL_STRING = 0x1b;
const BMP_STRING = 0x1e;

/** A string value's text as Java decodes it, or null for a type Java writes as hex. */
function stringValue(value: Der): string | null {
  switch (value.tag) {
    case UTF8_STRING:
      return value.contents.toString('utf8');
    case PRINTABLE_STRING:
    case TELETEX_STRING:
    case IA5_STRING:
    case GENERAL_STRING:
      return value.contents.toString('latin1');
    case BMP_STRING: {
      const swapped = Buffer.from(value.contents);
      if (swapped.length % 2 === 0) swapped.swap16();
      return swapped.toString('utf16le');
    }
    default:
      return null;
  }
}

const RFC2253_ESCAPED = ',=+<>#;"\\';

function escapeValue(text: string): string {
  let escaped = '';
  for (const char of text) {
    if (RFC2253_ESCAPED.includes(char)) escaped += `\\${char}`;
    else if (char === '\u0000') escaped += '\\00';
    else escaped += char;
  }
  // Every leading and trailing space or CR gets a backslash (Java's rule).
  const chars = [...escaped];
  let lead = 0;
  while (lead < chars.length && (chars[lead] === ' ' || chars[lead] === '\r')) lead++;
  let trail = chars.length - 1;
  while (trail >= 0 && (chars[trail] === ' ' || chars[trail] === '\r')) trail--;
  return chars.map((char, index) => (index < lead || index > trail ? `\\${char}` : char)).join('');
}

function attributeTypeAndValue(element: Der): string {
  const [type, value] = children(element);
  if (element.tag !== 0x30 || type === undefined || type.tag !== 0x06 || value === undefined) throw new Error('bad AttributeTypeAndValue');
  const oid = objectIdentifier(type.contents);
  const keyword = RFC2253_KEYWORDS.get(oid);
  const text = keyword === undefined ? null : stringValue(value);
  if (keyword === undefined || text === null) return `${keyword ?? oid}=#${value.encoding.toString('hex')}`;
  return `${keyword}=${escapeValue(text)}`;
}

/** The subject Name's DER element of an X.509 certificate's DER. */
function subjectName(raw: Buffer): Der {
  const certificate = readDer(raw, 0);
  const tbs = children(certificate)[0];
  if (certificate.tag !== 0x30 || tbs === undefined || tbs.tag !== 0x30) throw new Error('not an X.509 certificate');
  const fields = children(tbs);
  // version [0] is optional; then serialNumber, signature, issuer, validity, subject.
  const subject = fields[fields[0]?.tag === 0xa0 ? 5 : 4];
  if (subject === undefined || subject.tag !== 0x30) throw new Error('the certificate has no subject Name');
  return subject;
}

/**
 * The certificate's subject as Java's X500Principal.getName() gives it (RFC 2253 form, most
 * specific RDN first): the DN Kafka's principal mapping rules are applied to.
 */
export function distinguishedName(certificate: X509Certificate): string {
  const rdns = children(subjectName(certificate.raw)).map((rdn) => {
    if (rdn.tag !== 0x31) throw new Error('bad RelativeDistinguishedName');
    return children(rdn).map(attributeTypeAndValue).join('+');
  });
  return rdns.reverse().join(',');
}

// ---- ssl.principal.mapping.rules ----

/** Kafka's default: the DN is the principal's name. */
export const DEFAULT_PRINCIPAL_MAPPING_RULES = 'DEFAULT';

// Kafka's SslPrincipalMapper's expressions. Groups: 1 DEFAULT, 2 the pattern, 4 the
// replacement, 6 L or U, 7 anything else (an empty rule, or one that is not a rule).
const RULE_PATTERN = String.raw`(DEFAULT)|RULE:((\\.|[^\\/])*)/((\\.|[^\\/])*)/([LU]?).*?|(.*?)`;
/** Java's `\s`. */
const JAVA_SPACE = String.raw`[ \t\n\x0B\f\r]`;
const RULE_SPLITTER = new RegExp(`${JAVA_SPACE}*(${RULE_PATTERN})${JAVA_SPACE}*(,${JAVA_SPACE}*|$)`, 'g');
const RULE_PARSER = new RegExp(`^(?:${RULE_PATTERN})`);

/** Java's String.trim(): every character up to U+0020 at either end. */
function javaTrim(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && text.charCodeAt(start) <= 0x20) start++;
  while (end > start && text.charCodeAt(end - 1) <= 0x20) end--;
  return text.slice(start, end);
}

interface Rule {
  /** Kafka's text of the rule (its toString). */
  readonly text: string;
  /** The name for this DN, or null when the rule does not apply. */
  apply(dn: string): string | null;
}

/** Java's regular expression in JavaScript: a leading inline-flags group becomes flags. */
function compileJavaPattern(pattern: string): { source: string; flags: string } {
  let source = pattern;
  let flags = '';
  const inline = /^\(\?([imsu]+)\)/.exec(source);
  if (inline !== null) {
    source = source.slice(inline[0].length);
    for (const flag of new Set(inline[1]!)) if (flag !== 'u') flags += flag;
  }
  // Escapes: JavaScript (without the u flag) takes an unknown `\x` as the letter itself, where
  // Java has a meaning for it (\p{…}, \h, \v, \R, \A, \Z, \Q…\E, …) or refuses it; only the
  // letters both read alike are let through.
  for (let index = 0; index < source.length; index++) {
    if (source[index] !== '\\') continue;
    const next = source[++index];
    if (next !== undefined && /[A-Za-z]/.test(next) && !'dDsSwWbBnrtfcxuk'.includes(next)) {
      throw new Error(`it uses the escape \\${next}, Java regular-expression syntax Spate does not run`);
    }
  }
  if (/(?<!\\)[*+?}]\+|\(\?>/.test(source)) {
    throw new Error('it uses Java regular-expression syntax Spate does not run (a possessive quantifier or an atomic group)');
  }
  new RegExp(source, flags); // throws a SyntaxError naming what is wrong
  return { source, flags };
}

/** Kafka's escapeLiteralBackReferences: `$n` beyond the groups (after truncating) becomes the text `$n`. */
function escapeLiteralBackReferences(unescaped: string, groupCount: number): string {
  if (groupCount === 0) return unescaped;
  let value = unescaped;
  for (const match of unescaped.matchAll(/\$([0-9]+)/g)) {
    const digits = match[1]!;
    if (digits.startsWith('0')) continue;
    let index = Number(digits);
    if (index > 2_147_483_647) throw new Error(`the group reference $${digits} is too large`);
    while (index > groupCount && index >= 10) index = Math.floor(index / 10);
    if (index > groupCount) {
      // Kafka inserts at the position in the original text, even after earlier insertions.
      const dollar = match.index!;
      value = `${value.slice(0, dollar)}\\${value.slice(dollar)}`;
    }
  }
  return value;
}

/** One match's replacement as Java's Matcher.appendReplacement builds it. */
function javaReplacement(replacement: string, groups: readonly (string | undefined)[], named: Readonly<Record<string, string | undefined>> | undefined, names: ReadonlySet<string>): string {
  const groupCount = groups.length - 1;
  let result = '';
  for (let cursor = 0; cursor < replacement.length; ) {
    const char = replacement[cursor]!;
    if (char === '\\') {
      cursor++;
      if (cursor === replacement.length) throw new Error('character to be escaped is missing');
      result += replacement[cursor++]!;
    } else if (char === '$') {
      cursor++;
      if (cursor === replacement.length) throw new Error('Illegal group reference: group index is missing');
      if (replacement[cursor] === '{') {
        cursor++;
        let name = '';
        while (cursor < replacement.length && /[A-Za-z0-9]/.test(replacement[cursor]!)) name += replacement[cursor++]!;
        if (name === '') throw new Error('named capturing group has 0 length name');
        if (replacement[cursor] !== '}') throw new Error("named capturing group is missing trailing '}'");
        if (/^[0-9]/.test(name)) throw new Error(`capturing group name {${name}} starts with digit character`);
        if (!names.has(name)) throw new Error(`No group with name {${name}}`);
        cursor++;
        result += named?.[name] ?? '';
      } else {
        let index = replacement.charCodeAt(cursor) - 48;
        if (index < 0 || index > 9) throw new Error('Illegal group reference');
        cursor++;
        while (cursor < replacement.length) {
          const digit = replacement.charCodeAt(cursor) - 48;
          if (digit < 0 || digit > 9 || index * 10 + digit > groupCount) break;
          index = index * 10 + digit;
          cursor++;
        }
        if (index > groupCount) throw new Error(`No group ${index}`);
        result += groups[index] ?? '';
      }
    } else {
      result += char;
      cursor++;
    }
  }
  return result;
}

function defaultRule(): Rule {
  return { text: 'DEFAULT', apply: (dn) => dn };
}

function patternRule(pattern: string, replacement: string, lowerCase: boolean, upperCase: boolean, ruleText: string): Rule {
  let compiled: { source: string; flags: string };
  try {
    compiled = compileJavaPattern(pattern);
  } catch (error) {
    throw new Error(`Invalid rule: \`${ruleText}\`: the pattern \`${pattern}\` is not a valid regular expression: ${(error as Error).message}`);
  }
  const whole = new RegExp(`^(?:${compiled.source})$`, compiled.flags);
  const every = new RegExp(compiled.source, `${compiled.flags}g`);
  const groupCount = new RegExp(`${compiled.source}|`, compiled.flags).exec('')!.length - 1;
  const names = new Set(Object.keys(new RegExp(`${compiled.source}|`, compiled.flags).exec('')!.groups ?? {}));
  const escaped = escapeLiteralBackReferences(replacement, groupCount);
  const text = `RULE:${pattern}/${replacement}${lowerCase ? '/L' : upperCase ? '/U' : ''}`;
  return {
    text,
    apply(dn) {
      if (!whole.test(dn)) return null;
      let result = dn.replace(every, (...args: unknown[]) => {
        const hasNamed = typeof args[args.length - 1] === 'object';
        const named = hasNamed ? (args[args.length - 1] as Record<string, string | undefined>) : undefined;
        const groups = args.slice(0, groupCount + 1) as (string | undefined)[];
        return javaReplacement(escaped, groups, named, names);
      });
      if (lowerCase) result = result.toLowerCase();
      else if (upperCase) result = result.toUpperCase();
      return result;
    },
  };
}

export interface PrincipalMapper {
  /** The rules as Kafka's SslPrincipalMapper writes them (`RULE:pattern/replacement/L`, `DEFAULT`), empty rules left out. */
  readonly rules: readonly string[];
  /** The principal's name for this DN (RFC 2253, as distinguishedName gives it); an Error when no rule applies. */
  principalName(dn: string): string;
}

/** Kafka's splitRules: the rules' texts, as Kafka's RULE_SPLITTER finds them. */
function splitRules(text: string): string[] {
  return [...javaTrim(text).matchAll(RULE_SPLITTER)].map((match) => match[1]!);
}

/**
 * Parses ssl.principal.mapping.rules as Kafka does; an Error names the first invalid rule
 * (Kafka's message: "Invalid rule: `…`, unmatched substring: `…`").
 */
export function parsePrincipalMappingRules(text: string): PrincipalMapper {
  const rules: Rule[] = [];
  for (const ruleText of splitRules(text)) {
    const match = RULE_PARSER.exec(ruleText);
    if (match === null) throw new Error(`Invalid rule: ${ruleText}`);
    if (match[0].length !== ruleText.length) {
      throw new Error(`Invalid rule: \`${ruleText}\`, unmatched substring: \`${ruleText.slice(match[0].length)}\``);
    }
    if (match[1] !== undefined) rules.push(defaultRule());
    else if (match[2] !== undefined) rules.push(patternRule(match[2], match[4]!, match[6] === 'L', match[6] === 'U', ruleText));
    // else an empty rule, which Kafka ignores
  }
  const texts = rules.map((rule) => rule.text);
  return {
    rules: texts,
    principalName(dn) {
      for (const rule of rules) {
        const name = rule.apply(dn);
        if (name !== null) return name;
      }
      throw new Error(`No rules apply to ${dn}, rules [${texts.join(', ')}]`);
    },
  };
}
