// Three brokers whose inter-broker listener is SASL_SSL (issue 14): the brokers log in to each
// other with SCRAM-SHA-512 as User:broker — a user made in ZooKeeper before any broker starts
// (`spate users create --zookeeper`, Kafka's kafka-configs.sh --zookeeper habit) — over TLS
// with certificates from `spate certs`. The controller's requests, the replica fetchers and
// the inter-broker clients all go that way (no other listener is named for brokers). A client
// over SASL_SSL writes with acks=all to a topic with three replicas; every replica joins the
// ISR, a follower's log holds the records, and after the leader is killed the new leader serves
// every record. The ACL authorizer is on: the brokers' user is a super user (CLUSTER_ACTION), the
// client's ACLs are added through another broker than the one it writes to.

import { join } from 'node:path';
import t from 'tap';
import { makeCertificates } from '../../src/cli/certs.js';
import { BrokerIdZnode, EntityConfigZnode, ZkPaths } from '../../src/cluster/zk/znodes.js';
import { brokerMain, freePort, temporaryDirectory } from '../helpers/broker-process.js';
import { clusterZk, readPartitionState, startCluster, waitFor } from '../helpers/cluster.js';
import { run } from '../helpers/run.js';

const CLI = join(brokerMain, '..', 'cli', 'main.js');
const dir = temporaryDirectory(t, 'spate-sasl-ssl-cluster-');
const files = await makeCertificates({ dir, brokers: [{ name: 'broker' }] });
const saslSslPorts = new Map<number, number>();
for (const id of [1, 2, 3]) saslSslPorts.set(id, await freePort());

const cluster = await startCluster(t, {
  brokers: 3,
  beforeBrokers: async (zookeeper) => {
    const made = await run(process.execPath, [CLI, 'users', 'create', 'broker', '--password', 'broker-secret', '--mechanism', 'SCRAM-SHA-512', '--zookeeper', zookeeper.connectString]);
    if (made.code !== 0) throw new Error(`spate users create --zookeeper failed: ${made.stderr.toString()}`);
  },
  overrides: {
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL',
    'inter.broker.listener.name': 'SASL_SSL',
    'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
    'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512',
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config': 'org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="broker-secret";',
    'ssl.keystore.type': 'PEM',
    'ssl.keystore.location': files.brokers[0]!.keystore,
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': files.ca.certificate,
    'connection.failed.authentication.delay.ms': 10,
    // The authorizer on: the brokers' own user needs CLUSTER_ACTION for the inter-broker APIs (as a super user here);
    // ANONYMOUS is the test's admin on the PLAINTEXT listeners.
    'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
    'super.users': 'User:broker;User:ANONYMOUS',
  },
  brokerOverrides: (id, port) => ({ listeners: `PLAINTEXT://127.0.0.1:${port},SASL_SSL://127.0.0.1:${saslSslPorts.get(id)}` }),
});
const zk = await clusterZk(t, cluster);

const saslSsl = (id: number, user: string, password: string): string[] => [
  '-b', `127.0.0.1:${saslSslPorts.get(id)}`,
  '-X', 'security.protocol=SASL_SSL', '-X', `ssl.ca.location=${files.ca.certificate}`,
  '-X', 'sasl.mechanisms=SCRAM-SHA-512', '-X', `sasl.username=${user}`, '-X', `sasl.password=${password}`,
];

t.test('replication over SASL_SSL: every replica in the ISR, and a failover loses nothing', async (t) => {
  const made = await run(process.execPath, [CLI, '--bootstrap-server', cluster.broker(2).process.bootstrap, 'users', 'create', 'alice', '--password', 'alice-secret', '--mechanism', 'SCRAM-SHA-512']);
  t.equal(made.code, 0, 'alice is made through broker 2');
  const registration = BrokerIdZnode.decode(1, (await zk.getData(ZkPaths.brokerIdPath(1)))!.data);
  t.same(registration.endpoints.map((endpoint) => `${endpoint.listenerName}:${endpoint.securityProtocol}`), ['PLAINTEXT:PLAINTEXT', 'SASL_SSL:SASL_SSL'], '/brokers/ids/1 registers each listener with its protocol, as Kafka does');
  const stored = await zk.getData(ZkPaths.userConfigPath('broker'));
  t.same(Object.keys(EntityConfigZnode.decode(stored!.data, ZkPaths.userConfigPath('broker'))), ['SCRAM-SHA-512'], 'users create --zookeeper wrote the brokers\' user where Kafka keeps it');
  for (const acl of [['--producer', '--topic', 'secure'], ['--operation', 'Read', '--topic', 'secure']]) {
    const added = await run(process.execPath, [CLI, '--bootstrap-server', cluster.broker(3).process.bootstrap, 'acls', 'add', '--allow-principal', 'User:alice', ...acl]);
    t.equal(added.code, 0, `alice's ACLs (${acl.join(' ')}) are added through broker 3`);
  }
  const created = await run(process.execPath, [CLI, '--bootstrap-server', cluster.broker(1).process.bootstrap, 'topics', 'create', 'secure', '--partitions', '1', '--replication-factor', '3', '--config', 'min.insync.replicas=2']);
  t.equal(created.code, 0, `the topic is made with three replicas (${created.stderr.toString().trim()})`);
  const state = await waitFor('the partition to have a leader and three in its ISR', async () => {
    const read = await readPartitionState(zk, 'secure', 0).catch(() => null);
    return read !== null && read.isr.length === 3 ? read : false;
  });
  t.equal(state.isr.length, 3, 'the controller reached every broker over SASL_SSL (LeaderAndIsr): all three replicas are in the ISR');
  const lines = Array.from({ length: 200 }, (_, i) => `r-${i}`);
  const leader = state.leader;
  const produced = await run('kcat', [...saslSsl(leader, 'alice', 'alice-secret'), '-t', 'secure', '-P', '-X', 'acks=all'], { input: `${lines.join('\n')}\n` });
  t.equal(produced.code, 0, `acks=all over SASL_SSL succeeds: the followers fetch from the leader over SASL_SSL (${produced.stderr.toString().trim()})`);
  const after = await readPartitionState(zk, 'secure', 0);
  t.equal(after.isr.length, 3, 'and stay in the ISR');

  await cluster.broker(leader).process.kill();
  const moved = await waitFor('a new leader', async () => {
    const read = await readPartitionState(zk, 'secure', 0);
    return read.leader !== leader && read.leader >= 0 ? read : false;
  });
  t.not(moved.leader, leader, `broker ${moved.leader} leads after broker ${leader} was killed`);
  const consumed = await run('kcat', [...saslSsl(moved.leader, 'alice', 'alice-secret'), '-t', 'secure', '-C', '-e', '-q', '-o', 'beginning'], { timeoutMs: 60_000 });
  t.equal(consumed.stdout.toString(), `${lines.join('\n')}\n`, 'the new leader serves every record, in order');
  const wrong = await run('kcat', [...saslSsl(moved.leader, 'broker', 'not-the-password'), '-L', '-m', '5'], { timeoutMs: 30_000 });
  t.not(wrong.code, 0, 'the brokers\' user, with a wrong password, is refused like anyone');
});
