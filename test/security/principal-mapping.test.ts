// ssl.principal.mapping.rules and the DN it is applied to (src/security/principal-mapping.ts):
//   - Kafka's SslPrincipalMapperTest (valid and invalid rules, the mapping, how rules are
//     split, escapes, a comma in a CN) and the examples of Kafka's documentation;
//   - Java's replacement semantics ($1, ${name}, \ escapes, a $n beyond the groups);
//   - no rule matching is an error naming the DN;
//   - distinguishedName of certificates made here by openssl with tricky subjects equals what
//     Java 17's X500Principal.getName() gave for the same subjects (written down below; the
//     test does not need Java), and the mapping of such a DN.

import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { temporaryDirectory } from '../helpers/broker-process.js';
import { distinguishedName, parsePrincipalMappingRules } from '../../src/security/principal-mapping.js';

t.test("Kafka's valid rules parse", async (t) => {
  for (const rules of [
    'DEFAULT',
    'RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/',
    'RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, DEFAULT',
    'RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/',
    'RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L',
    'RULE:^cn=(.?),ou=(.?),dc=(.?),dc=(.?)$/$1@$2/U',
    'RULE:^CN=([^,ADEFLTU,]+)(,.*|$)/$1/',
    'RULE:^CN=([^,DEFAULT,]+)(,.*|$)/$1/',
  ]) {
    t.doesNotThrow(() => parsePrincipalMappingRules(rules), rules);
  }
});

t.test("Kafka's invalid rules are refused with the rule named", async (t) => {
  for (const rules of [
    'default',
    'DEFAUL',
    'DEFAULT/L',
    'DEFAULT/U',
    'RULE:CN=(.*?),OU=ServiceUsers.*/$1',
    'rule:^CN=(.*?),OU=ServiceUsers.*$/$1/',
    'RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L/U',
    'RULE:^CN=(.*?),OU=ServiceUsers.*$/L',
    'RULE:^CN=(.*?),OU=ServiceUsers.*$/U',
    'RULE:^CN=(.*?),OU=ServiceUsers.*$/LU',
  ]) {
    t.throws(() => parsePrincipalMappingRules(rules), { message: /^Invalid rule: `/ }, rules);
  }
  t.throws(() => parsePrincipalMappingRules('DEFAULT/L'), { message: 'Invalid rule: `DEFAULT/L`, unmatched substring: `/L`' });
  t.throws(() => parsePrincipalMappingRules('RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L/U'), { message: 'Invalid rule: `RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L/U`, unmatched substring: `/U`' });
  t.throws(() => parsePrincipalMappingRules('RULE:^CN=(.*,OU=x$/$1/, DEFAULT'), { message: /^Invalid rule: `RULE:\^CN=\(\.\*,OU=x\$\/\$1\/`: the pattern `\^CN=\(\.\*,OU=x\$` is not a valid regular expression/ });
  t.throws(() => parsePrincipalMappingRules('RULE:^CN=(.*+)$/$1/'), { message: /Java regular-expression syntax Spate does not run/ }, 'a possessive quantifier is refused, not run differently');
  t.throws(() => parsePrincipalMappingRules('RULE:\\QCN=a\\E/$1/'), { message: /Java regular-expression syntax/ }, '\\Q…\\E is refused');
  t.throws(() => parsePrincipalMappingRules('RULE:^CN=(\\p{L}+)$/$1/'), { message: /the escape \\p, Java regular-expression syntax/ }, '\\p{L} is refused (JavaScript would read a p)');
  t.throws(() => parsePrincipalMappingRules('RULE:^CN=(\\h+)$/$1/'), { message: /the escape \\h/ }, '\\h is refused');
  t.doesNotThrow(() => parsePrincipalMappingRules('RULE:^CN=(\\w+)\\\\Q\\++$/$1/'), 'an escaped backslash before Q, and an escaped + then +, are fine');
});

t.test("Kafka's mapping test and documentation examples", async (t) => {
  const mapper = parsePrincipalMappingRules(
    [
      'RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L',
      'RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L',
      'RULE:^cn=(.*?),ou=(.*?),dc=(.*?),dc=(.*?)$/$1@$2/U',
      'RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U',
      'DEFAULT',
    ].join(', '),
  );
  t.equal(mapper.principalName('CN=Duke,OU=ServiceUsers,O=Org,C=US'), 'duke');
  t.equal(mapper.principalName('CN=Duke,OU=SME,O=mycp,L=Fulton,ST=MD,C=US'), 'duke@sme');
  t.equal(mapper.principalName('cn=duke,ou=sme,dc=mycp,dc=com'), 'DUKE@SME');
  t.equal(mapper.principalName('cN=duke,OU=JavaSoft,O=Sun Microsystems'), 'DUKE');
  t.equal(mapper.principalName('OU=JavaSoft,O=Sun Microsystems,C=US'), 'OU=JavaSoft,O=Sun Microsystems,C=US', 'DEFAULT: the DN as it is');

  // Kafka's documentation (ssl.principal.mapping.rules, "Customizing SSL User Name").
  const documented = parsePrincipalMappingRules('RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L,RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L,DEFAULT');
  t.equal(documented.principalName('CN=serviceuser,OU=ServiceUsers,O=Unknown,L=Unknown,ST=Unknown,C=Unknown'), 'serviceuser');
  t.equal(documented.principalName('CN=adminUser,OU=Admin,O=Unknown,L=Unknown,ST=Unknown,C=Unknown'), 'adminuser@admin');
  t.equal(documented.principalName('CN=Kafka.Client,O=Unknown'), 'kafka.client', 'the third rule, lower-cased');
});

t.test('a comma in a CN (Kafka: testCommaWithWhitespace)', async (t) => {
  const mapper = parsePrincipalMappingRules('RULE:^CN=((\\\\, *|\\w)+)(,.*|$)/$1/,DEFAULT');
  t.equal(mapper.principalName('CN=Tkac\\, Adam,OU=ITZ,DC=geodis,DC=cz'), 'Tkac\\, Adam');
});

t.test('how rules are split (Kafka: testRulesSplitting)', async (t) => {
  const cases: [string, string[]][] = [
    ['', []],
    ['DEFAULT', ['DEFAULT']],
    ['RULE://', ['RULE:/']],
    ['RULE:/.*/', ['RULE:/.*']],
    ['RULE:/.*/L', ['RULE:/.*/L']],
    ['RULE://,DEFAULT', ['RULE:/', 'DEFAULT']],
    ['  RULE:// ,  DEFAULT  ', ['RULE:/', 'DEFAULT']],
    ['  RULE:   /     / ,  DEFAULT  ', ['RULE:   /     ', 'DEFAULT']],
    ['  RULE:  /     /U   ,DEFAULT  ', ['RULE:  /     /U', 'DEFAULT']],
    ['  RULE:([A-Z]*)/$1/U   ,RULE:([a-z]+)/$1/,   DEFAULT  ', ['RULE:([A-Z]*)/$1/U', 'RULE:([a-z]+)/$1', 'DEFAULT']],
    [',   , , ,      , , ,   ', []],
    [',,RULE://,,,DEFAULT,,', ['RULE:/', 'DEFAULT']],
    [',  , RULE: /   /    ,,,   DEFAULT, ,   ', ['RULE: /   ', 'DEFAULT']],
    ['     ,  , RULE:   /  /U    ,,  ,DEFAULT, ,', ['RULE:   /  /U', 'DEFAULT']],
    ['RULE:\\/\\\\\\(\\)\\n\\t/\\/\\//', ['RULE:\\/\\\\\\(\\)\\n\\t/\\/\\/']],
    ['RULE:\\**\\/+/*/L,RULE:\\/*\\**/**/', ['RULE:\\**\\/+/*/L', 'RULE:\\/*\\**/**']],
    [
      'RULE:,RULE:,/,RULE:,\\//U,RULE:,/RULE:,/,RULE:,RULE:,/L,RULE:,/L,RULE:, DEFAULT, /DEFAULT/,DEFAULT',
      ['RULE:,RULE:,/,RULE:,\\//U', 'RULE:,/RULE:,', 'RULE:,RULE:,/L,RULE:,/L', 'RULE:, DEFAULT, /DEFAULT', 'DEFAULT'],
    ],
  ];
  for (const [text, rules] of cases) t.same(parsePrincipalMappingRules(text).rules, rules, JSON.stringify(text));
});

t.test('no rule applies: an error naming the DN and the rules', async (t) => {
  const mapper = parsePrincipalMappingRules('RULE:^CN=([a-z]+),OU=eng$/$1/');
  t.throws(() => mapper.principalName('CN=Bob,OU=eng'), { message: 'No rules apply to CN=Bob,OU=eng, rules [RULE:^CN=([a-z]+),OU=eng$/$1]' });
  t.throws(() => parsePrincipalMappingRules('').principalName('CN=x'), { message: /^No rules apply to CN=x/ }, 'an empty list has no rule, not DEFAULT');
  t.equal(mapper.principalName('CN=bob,OU=eng'), 'bob');
});

t.test("the whole DN must match (Java's matches()), and replaceAll replaces every match", async (t) => {
  const prefix = parsePrincipalMappingRules('RULE:CN=([a-z]+)/$1/');
  t.throws(() => prefix.principalName('CN=bob,OU=eng'), 'a pattern matching only a prefix does not apply');
  t.equal(prefix.principalName('CN=bob'), 'bob');
  // Java: "CN=bob".replaceAll(".*", "x") is "xx" (the empty match at the end).
  t.equal(parsePrincipalMappingRules('RULE:.*/x/').principalName('CN=bob'), 'xx');
  t.equal(parsePrincipalMappingRules('RULE:^.*$/x/').principalName('CN=bob'), 'x');
});

t.test("Java's replacement: groups, named groups, escapes, references beyond the groups", async (t) => {
  const name = (rules: string, dn: string) => parsePrincipalMappingRules(rules).principalName(dn);
  t.equal(name('RULE:^CN=(?<user>[^,]+),OU=(.*)$/${user}-$2/', 'CN=alice,OU=eng'), 'alice-eng', '${name} and $2');
  t.equal(name('RULE:^CN=([^,]+),OU=(.*)$/$1@$4/', 'CN=alice,OU=eng'), 'alice@$4', 'a reference beyond the groups is text (Kafka escapes it)');
  t.equal(name('RULE:^CN=([^,]+),OU=(.*)$/$12/', 'CN=alice,OU=eng'), 'alice2', '$12 with two groups is $1 then 2');
  t.equal(name('RULE:^CN=([^,]+)$/\\$1 is $1/', 'CN=alice'), '$1 is alice', '\\$ is a dollar sign');
  t.equal(name('RULE:^CN=([^,]+)(,OU=.*)?$/$1[$2]/', 'CN=alice'), 'alice[]', 'a group that did not take part is empty');
  t.equal(name('RULE:^CN=([^,]+)$/$1/U', 'CN=Alice'), 'ALICE');
  t.equal(name('RULE:^CN=([^,]+)$/$1/L', 'CN=Alice'), 'alice');
  t.equal(name('RULE:(?i)^cn=([^,]+)$/$1/', 'CN=Alice'), 'Alice', 'a leading (?i) is the i flag');
  t.throws(() => name('RULE:^CN=[^,]+$/$1/', 'CN=alice'), { message: 'No group 1' }, 'with no groups at all, $1 is an error, as in Java');
});

t.test('distinguishedName of openssl-made certificates is what Java gives', async (t) => {
  const dir = temporaryDirectory(t, 'spate-dn-test-');
  // What Java 17's X509Certificate.getSubjectX500Principal().getName() printed for each subject.
  const cases: { subject: string; java: string; multi?: boolean }[] = [
    { subject: '/CN=plain', java: 'CN=plain' },
    { subject: '/C=US/O=Acme/OU=eng/CN=client', java: 'CN=client,OU=eng,O=Acme,C=US' },
    {
      subject: '/C=US/O=Acme, Inc./OU=eng+UID=jdoe/CN=#client "quoted" <x>;y\\\\z /emailAddress=a@b.c',
      java: '1.2.840.113549.1.9.1=#16056140622e63,CN=\\#client \\"quoted\\" \\<x\\>\\;y\\\\z\\ ,OU=eng+UID=jdoe,O=Acme\\, Inc.,C=US',
      multi: true,
    },
    { subject: '/C=US/ST=CA/L=San Francisco/O=Acme/OU=eng/OU=ops/CN=a=b#c\\+d', java: 'CN=a\\=b\\#c\\+d,OU=ops,OU=eng,O=Acme,L=San Francisco,ST=CA,C=US' },
    { subject: '/DC=com/DC=example/CN=  two leading', java: 'CN=\\ \\ two leading,DC=example,DC=com' },
    { subject: '/CN=Zoë Ünïcode ✓/O=Ключ', java: 'O=Ключ,CN=Zoë Ünïcode ✓' },
    { subject: '/serialNumber=1234/title=Boss/GN=Jane/SN=Doe/CN=x', java: 'CN=x,2.5.4.4=#0c03446f65,2.5.4.42=#0c044a616e65,2.5.4.12=#0c04426f7373,2.5.4.5=#130431323334' },
    { subject: '/CN=# hash/UID=u1+CN=multi', java: 'CN=multi+UID=u1,CN=\\# hash', multi: true },
  ];
  for (const [index, { subject, java, multi }] of cases.entries()) {
    const certificate = join(dir, `c${index}.pem`);
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, `k${index}.pem`), '-out', certificate,
      '-days', '1', '-utf8', '-subj', subject, ...(multi ? ['-multivalue-rdn'] : []),
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    t.equal(distinguishedName(new X509Certificate(readFileSync(certificate))), java, subject);
  }

  // A rule over such a DN: the escaped comma stays in the name.
  const mapper = parsePrincipalMappingRules('RULE:^1\\.2\\.840\\.113549\\.1\\.9\\.1=[^,]*,CN=(.*?),OU=eng\\+UID=([^,]*),O=(.*),C=US$/$2 of $3/,DEFAULT');
  const dn = distinguishedName(new X509Certificate(readFileSync(join(dir, 'c2.pem'))));
  t.equal(mapper.principalName(dn), 'jdoe of Acme\\, Inc.');
});
