// SASL users in a three-broker cluster (issue 14): each broker has a PLAINTEXT and a
// SASL_PLAINTEXT listener. A user made with AlterUserScramCredentials through one broker is
// kept where Kafka keeps it — /config/users/<name> in ZooKeeper, announced under
// /config/changes — and logs in on all three brokers within a second; Metadata asked on a
// SASL listener names every broker's SASL endpoint; a password changed through another broker
// takes over everywhere (the old one fails), and a user deleted through a third logs in
// nowhere. A broker started afterwards reads the users at startup.

import { pbkdf2Sync, randomBytes } from 'node:crypto';
import t from 'tap';
import { errorName } from '../../src/protocol/errors.js';
import { alterUserScramCredentialsApi, metadataApi, saslAuthenticateApi, saslHandshakeApi } from '../../src/protocol/generated/index.js';
import { EntityConfigZnode, ZkPaths } from '../../src/cluster/zk/znodes.js';
import { RawClient } from '../helpers/raw-client.js';
import { clusterZk, startSaslCluster, waitFor } from '../helpers/cluster.js';

const { cluster, saslPorts } = await startSaslCluster(t);
const zk = await clusterZk(t, cluster);

async function alter(brokerId: number, body: Parameters<RawClient['request']>[2]): Promise<string[]> {
  const client = await RawClient.connect(t, cluster.broker(brokerId).process.port);
  try {
    const answer = await client.request(alterUserScramCredentialsApi, 0, body as never);
    return answer.results.map((result) => errorName(result.errorCode));
  } finally {
    client.destroy();
  }
}

function upsertion(name: string, password: string) {
  const salt = randomBytes(32);
  return { name, mechanism: 2, iterations: 4096, salt, saltedPassword: pbkdf2Sync(password, salt, 4096, 64, 'sha512') };
}

/** PLAIN login on a broker's SASL listener: the error name SaslAuthenticate answers (NONE on success). */
async function login(brokerId: number, user: string, password: string): Promise<string> {
  const client = await RawClient.connect(t, saslPorts.get(brokerId)!);
  try {
    await client.request(saslHandshakeApi, 1, { mechanism: 'PLAIN' });
    const answer = await client.request(saslAuthenticateApi, 2, { authBytes: Buffer.from(`\u0000${user}\u0000${password}`) });
    return errorName(answer.errorCode);
  } finally {
    client.destroy();
  }
}

const everywhere = (user: string, password: string, expected: string) => async () => {
  for (const id of [1, 2, 3]) if ((await login(id, user, password)) !== expected) return false;
  return true;
};

t.test('a user made through one broker logs in on all three within a second', async (t) => {
  t.same(await alter(1, { deletions: [], upsertions: [upsertion('alice', 'first')] }), ['NONE']);
  const started = Date.now();
  await waitFor('alice to log in on every broker', everywhere('alice', 'first', 'NONE'), 5000, 20);
  t.ok(Date.now() - started < 1000, `on all three in ${Date.now() - started} ms`);
  const stored = await zk.getData(ZkPaths.userConfigPath('alice'));
  const configs = EntityConfigZnode.decode(stored!.data, ZkPaths.userConfigPath('alice'));
  t.same(Object.keys(configs), ['SCRAM-SHA-512'], 'kept in /config/users/alice as Kafka keeps it');
  t.match(configs['SCRAM-SHA-512'], /^salt=[^,]+,stored_key=[^,]+,server_key=[^,]+,iterations=4096$/, 'salted keys only');
  t.notOk(stored!.data!.toString().includes('first'), 'no password in ZooKeeper');
});

t.test('Metadata on a SASL listener names every broker\'s SASL endpoint', async (t) => {
  const client = await RawClient.connect(t, saslPorts.get(2)!);
  await client.request(saslHandshakeApi, 1, { mechanism: 'PLAIN' });
  await client.request(saslAuthenticateApi, 2, { authBytes: Buffer.from('\u0000alice\u0000first') });
  const metadata = await client.request(metadataApi, 9, { topics: null, allowAutoTopicCreation: false, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false });
  t.same(metadata.brokers.map((broker) => [broker.nodeId, broker.port]).sort(), [1, 2, 3].map((id) => [id, saslPorts.get(id)]));
  client.destroy();
});

t.test('a password changed through another broker, and a user deleted through a third, apply everywhere', async (t) => {
  t.same(await alter(2, { deletions: [], upsertions: [upsertion('alice', 'second')] }), ['NONE']);
  await waitFor('the new password everywhere', everywhere('alice', 'second', 'NONE'), 5000, 20);
  await waitFor('the old password refused everywhere', everywhere('alice', 'first', 'SASL_AUTHENTICATION_FAILED'), 5000, 20);
  t.pass('the new password works and the old one fails on all three');
  t.same(await alter(3, { deletions: [{ name: 'alice', mechanism: 2 }], upsertions: [] }), ['NONE']);
  await waitFor('alice refused everywhere', everywhere('alice', 'second', 'SASL_AUTHENTICATION_FAILED'), 5000, 20);
  t.equal(await zk.getData(ZkPaths.userConfigPath('alice')), null, 'her znode is gone');
});

t.test('a restarted broker reads the users at startup', async (t) => {
  t.same(await alter(1, { deletions: [], upsertions: [upsertion('a user/with:odd*chars', 'pw')] }), ['NONE']);
  t.ok(await zk.getData('/config/users/a%20user%2Fwith%3Aodd%2Achars'), 'the znode name is sanitized as Kafka\'s Sanitizer does');
  await waitFor('the odd user on broker 3', async () => (await login(3, 'a user/with:odd*chars', 'pw')) === 'NONE', 5000, 20);
  await cluster.broker(3).process.restart();
  t.equal(await login(3, 'a user/with:odd*chars', 'pw'), 'NONE', 'logs in on the restarted broker');
});
