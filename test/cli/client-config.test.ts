// `--command-config`'s pure part (src/cli/client-config.ts), without a broker: Java properties
// files as java.util.Properties reads them (comments, separators, continued lines, escapes);
// the login from Kafka's sasl.jaas.config (ScramLoginModule, PlainLoginModule, quoted values)
// or from librdkafka's sasl.username/sasl.password; TLS options from the ssl.* keys (Kafka's and
// librdkafka's names); and a clear UsageError for unreadable TLS files, GSSAPI (Kafka's default
// mechanism), other login modules, and half-given logins.

import t from 'tap';
import { clientConfigOf, parseJaasLogin, parseProperties } from '../../src/cli/client-config.js';
import { UsageError } from '../../src/cli/errors.js';

t.test('Java properties', async (t) => {
  const properties = parseProperties(
    [
      '# a comment',
      '! another',
      '   ',
      'a=1',
      'b : 2',
      'c 3',
      '  d=  spaced value  ',
      'e=first \\',
      '    second \\',
      '  third',
      'f=tab\\there\\u0041\\=\\\\',
      'g\\ key=x',
      'a=later wins',
      'h=ends with a backslash\\\\',
      'i=',
    ].join('\n'),
  );
  t.same(Object.fromEntries(properties), {
    a: 'later wins',
    b: '2',
    c: '3',
    d: 'spaced value  ',
    e: 'first second third',
    f: 'tab\thereA=\\',
    'g key': 'x',
    h: 'ends with a backslash\\',
    i: '',
  });
  t.same(Object.fromEntries(parseProperties('x=1\r\ny=2\r\n')), { x: '1', y: '2' }, 'CRLF line ends');
});

t.test('JAAS lines', async (t) => {
  t.same(parseJaasLogin('org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="alice-secret";', 'f'), { username: 'alice', password: 'alice-secret' });
  t.same(parseJaasLogin('org.apache.kafka.common.security.plain.PlainLoginModule Required\n  username=bob\n  password="a \\"quoted\\" ; = word" ;', 'f'), { username: 'bob', password: 'a "quoted" ; = word' });
  for (const [what, text, message] of [
    ['no module', ';', /names no login module/],
    ['Kerberos', 'com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true;', /Krb5LoginModule, which is not served/],
    ['OAUTHBEARER', 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;', /not served/],
    ['no control flag', 'org.apache.kafka.common.security.scram.ScramLoginModule username="a" password="b";', /no control flag/],
    ['no semicolon', 'org.apache.kafka.common.security.scram.ScramLoginModule required username="a" password="b"', /does not end with ";"/],
    ['no password', 'org.apache.kafka.common.security.scram.ScramLoginModule required username="a";', /no username or no password/],
    ['an open quote', 'org.apache.kafka.common.security.scram.ScramLoginModule required username="a;', /closing quote/],
    ['a bad option', 'org.apache.kafka.common.security.scram.ScramLoginModule required username;', /not key=value/],
    ['two modules', 'org.apache.kafka.common.security.scram.ScramLoginModule required username="a" password="b"; org.apache.kafka.common.security.plain.PlainLoginModule required;', /more than one login module/],
  ] as const) {
    t.throws(() => parseJaasLogin(text, 'f'), message, what);
  }
});

t.test('the login a client config asks for', async (t) => {
  const config = (entries: Record<string, string>) => clientConfigOf(new Map(Object.entries(entries)), '--command-config f');
  t.same(config({}), { warnings: [] }, 'an empty file: PLAINTEXT, no login');
  t.same(
    config({ 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'SCRAM-SHA-512', 'sasl.jaas.config': 'org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="s";' }),
    { sasl: { mechanism: 'SCRAM-SHA-512', username: 'alice', password: 's' }, warnings: [] },
    'Kafka\'s form',
  );
  t.same(
    config({ 'security.protocol': 'sasl_plaintext', 'sasl.mechanisms': 'PLAIN', 'sasl.username': 'bob', 'sasl.password': 'p', 'client.id': 'x' }),
    { sasl: { mechanism: 'PLAIN', username: 'bob', password: 'p' }, warnings: ['--command-config f: client.id is not used by spate'] },
    'librdkafka\'s names; a key spate does not use is named',
  );
  t.same(config({ 'sasl.username': 'bob', 'sasl.password': 'p' }).warnings, ['--command-config f: sasl.username, sasl.password not used: security.protocol is PLAINTEXT (SASL_PLAINTEXT and SASL_SSL log in)'], 'a login without SASL is named as unused');
  t.same(config({ 'ssl.ca.location': '/nonexistent' }).warnings, ['--command-config f: ssl.ca.location not used: security.protocol is PLAINTEXT (SSL and SASL_SSL use TLS)'], 'TLS keys without TLS are named as unused');
  const ssl = config({ 'security.protocol': 'SSL', 'ssl.endpoint.identification.algorithm': '' });
  t.ok(ssl.tls !== undefined && ssl.sasl === undefined, 'SSL: TLS, no login');
  t.equal(ssl.tls?.checkServerIdentity?.('h', {} as never), undefined, 'an empty ssl.endpoint.identification.algorithm turns the host name check off');
  const saslSsl = config({ 'security.protocol': 'SASL_SSL', 'sasl.mechanism': 'PLAIN', 'sasl.username': 'a', 'sasl.password': 'b' });
  t.ok(saslSsl.tls !== undefined && saslSsl.sasl?.username === 'a', 'SASL_SSL: TLS and a login');
  t.equal(config({ 'security.protocol': 'SSL' }).tls?.checkServerIdentity, undefined, 'by default (https) Node checks the host name');
  for (const [what, entries, message] of [
    ['a missing CA file', { 'security.protocol': 'SSL', 'ssl.truststore.location': '/nonexistent/ca.pem' }, /ssl.truststore.location=\/nonexistent\/ca.pem: no such file/],
    ['a JKS trust store', { 'security.protocol': 'SSL', 'ssl.truststore.type': 'JKS', 'ssl.truststore.location': '/x.jks' }, /ssl.truststore.type=JKS is not read by spate/],
    ['half of librdkafka\'s client key pair', { 'security.protocol': 'SSL', 'ssl.key.location': '/k.pem' }, /ssl.key.location and ssl.certificate.location go together/],
    ['an unknown protocol', { 'security.protocol': 'QUIC' }, /QUIC is not one of PLAINTEXT, SASL_PLAINTEXT, SSL, SASL_SSL/],
    ['no mechanism (GSSAPI)', { 'security.protocol': 'SASL_PLAINTEXT', 'sasl.username': 'a', 'sasl.password': 'b' }, /Kafka's default GSSAPI, is not served; set sasl.mechanism to one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512/],
    ['OAUTHBEARER', { 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'OAUTHBEARER' }, /sasl.mechanism=OAUTHBEARER is not served/],
    ['no login', { 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'PLAIN' }, /needs sasl.jaas.config, or sasl.username and sasl.password/],
    ['half a login', { 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'PLAIN', 'sasl.username': 'a' }, /needs sasl.jaas.config/],
    ['both forms', { 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'PLAIN', 'sasl.username': 'a', 'sasl.jaas.config': 'x' }, /not both/],
    ['an empty user', { 'security.protocol': 'SASL_PLAINTEXT', 'sasl.mechanism': 'PLAIN', 'sasl.username': '', 'sasl.password': 'b' }, /user name is empty/],
  ] as const) {
    t.throws(() => config(entries), message, what);
    t.throws(() => config(entries), UsageError, `${what}: a UsageError`);
  }
});
