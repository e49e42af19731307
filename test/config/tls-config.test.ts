// The security keys of TLS and SASL listeners as buildBrokerConfig reads them, without files
// (security/tls.ts reads those at startup; test/security/tls.test.ts starts brokers): a key set
// for one listener (listener.name.<l>.<key>) wins over the broker-wide one and names itself in
// errors; Kafka's default JKS and a key store given twice are refused; SASL_SSL asks for client
// certificates only when its own listener says so; a SASL inter-broker listener in a cluster
// needs the broker's login, as Kafka's does; an unknown listener-prefixed key is warned about.

import t from 'tap';
import { ConfigError, buildBrokerConfig } from '../../src/config/broker-config.js';

const build = (overrides: Record<string, string>) => buildBrokerConfig(new Map(), new Map(Object.entries(overrides)), '/srv');
const TLS = {
  listeners: 'PLAINTEXT://:9092,SSL://:9093,SASL_SSL://:9094',
  'ssl.keystore.type': 'PEM',
  'ssl.keystore.location': '/keys/broker.pem',
  'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
};

t.test('per-listener keys win, and SASL_SSL asks for certificates only when told for itself', async (t) => {
  const { config, warnings } = build({ ...TLS, 'ssl.client.auth': 'required', 'listener.name.ssl.ssl.keystore.location': '/keys/ssl-only.pem', 'listener.name.ssl.ssl.keymanager.algorithm': 'SunX509' });
  const ssl = config.security.listeners.get('SSL')!.tls!;
  const saslSsl = config.security.listeners.get('SASL_SSL')!.tls!;
  t.equal(ssl.keystoreLocation, '/keys/ssl-only.pem', 'SSL: its own key store');
  t.equal(saslSsl.keystoreLocation, '/keys/broker.pem', 'SASL_SSL: the broker-wide one');
  t.equal(ssl.keyOf('ssl.keystore.location'), 'listener.name.ssl.ssl.keystore.location', 'errors name the key that was set');
  t.equal(ssl.clientAuth, 'required', 'SSL takes the broker-wide ssl.client.auth');
  t.equal(saslSsl.clientAuth, 'none', 'SASL_SSL does not (Kafka: only listener.name.<l>.ssl.client.auth applies to it)');
  t.equal(build({ ...TLS, 'listener.name.sasl_ssl.ssl.client.auth': 'requested' }).config.security.listeners.get('SASL_SSL')!.tls!.clientAuth, 'requested', 'its own key does');
  t.equal(config.security.listeners.get('PLAINTEXT')!.tls, null, 'PLAINTEXT has no TLS');
  t.match(warnings, [/listener\.name\.ssl\.ssl\.keymanager\.algorithm/], 'a listener-prefixed key Spate does not use is named');
  t.same([ssl.minVersion, ssl.maxVersion], ['TLSv1.2', 'TLSv1.3'], 'Kafka\'s ssl.enabled.protocols');
});

t.test('mistakes fail the start naming the key', async (t) => {
  for (const [what, overrides, key, reason] of [
    ['Kafka\'s default JKS', { ...TLS, 'ssl.keystore.type': 'JKS' }, 'ssl.keystore.type', /JKS key stores are not read/],
    ['no key store', { listeners: 'SSL://:9093', 'ssl.keystore.type': 'PEM' }, 'ssl.keystore.location', /needs its key and certificate/],
    ['a key store given twice', { ...TLS, 'ssl.keystore.key': '-----BEGIN PRIVATE KEY-----' }, 'ssl.keystore.key', /both/],
    ['a JKS trust store', { ...TLS, 'ssl.truststore.location': '/keys/ca.jks' }, 'ssl.truststore.type', /JKS trust stores are not read/],
    ['an unknown TLS version', { ...TLS, 'ssl.enabled.protocols': 'TLSv1.2,SSLv3' }, 'ssl.enabled.protocols', /SSLv3/],
    ['a bad mapping rule', { ...TLS, 'listener.name.ssl.ssl.principal.mapping.rules': 'RULE:x' }, 'listener.name.ssl.ssl.principal.mapping.rules', /Invalid rule/],
    ['a SASL inter-broker listener without the broker\'s login', { ...TLS, 'zookeeper.connect': '127.0.0.1:2181', 'inter.broker.listener.name': 'SASL_SSL', 'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512' }, 'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config', /logs in to the others/],
    ['Kafka\'s default GSSAPI between brokers', { ...TLS, 'zookeeper.connect': '127.0.0.1:2181', 'inter.broker.listener.name': 'SASL_SSL' }, 'sasl.mechanism.inter.broker.protocol', /GSSAPI is not served/],
  ] as const) {
    let error: unknown = null;
    try {
      build(overrides as Record<string, string>);
    } catch (thrown) {
      error = thrown;
    }
    t.ok(error instanceof ConfigError && error.key === key, `${what}: a ConfigError for ${key} (${String(error)})`);
    t.match(String(error), reason, `${what}: says why`);
  }
});

t.test('the broker\'s own login between brokers', async (t) => {
  const { config } = build({
    ...TLS,
    'zookeeper.connect': '127.0.0.1:2181',
    'inter.broker.listener.name': 'SASL_SSL',
    'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512',
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config': 'org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="s";',
  });
  t.same(config.security.interBrokerLogin, { mechanism: 'SCRAM-SHA-512', username: 'broker', password: 's' });
  t.equal(build(TLS).config.security.interBrokerLogin, null, 'a single broker logs in to no other');
});
