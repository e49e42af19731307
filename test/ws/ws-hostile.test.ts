// Hostile WebSocket clients against a real broker process: each attack must cost only the
// attacker's own connection, and the broker must go on serving other clients afterwards.

import kafkajs from 'kafkajs';
import t from 'tap';
import { TestSocket } from '../helpers/ws-socket.js';
import { BrokerProcess, freePort, type Teardownable } from '../helpers/broker-process.js';
import { processUsage, type ProcessUsage } from '../helpers/process-usage.js';
import { setScramCredential, startSaslBroker } from '../helpers/sasl-client.js';
import { describe, spate } from '../cli/fixtures/spate.js';

const { Kafka, AssignerProtocol, logLevel } = kafkajs;

async function withKafka<T>(port: number, use: (kafka: InstanceType<typeof Kafka>) => Promise<T>): Promise<T> {
  return use(new Kafka({ brokers: [`127.0.0.1:${port}`], clientId: 'ws-hostile', logLevel: logLevel.NOTHING }));
}

async function createTopic(port: number, topic: string, partitions: number): Promise<void> {
  await withKafka(port, async (kafka) => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
  });
}

async function produce(port: number, topic: string, values: readonly string[]): Promise<void> {
  await withKafka(port, async (kafka) => {
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({ topic, messages: values.map((value) => ({ value, partition: 0 })), acks: -1 });
    } finally {
      await producer.disconnect();
    }
  });
}

async function groupMembers(port: number, group: string): Promise<number> {
  return withKafka(port, async (kafka) => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const { groups } = await admin.describeGroups([group]);
      return groups[0]?.members.length ?? 0;
    } finally {
      await admin.disconnect();
    }
  });
}

/** A fresh client still reads: a new WebSocket gets the topic's records from earliest. */
async function freshSocketReads(t: Teardownable, httpPort: number, topic: string, expected: number): Promise<void> {
  const socket = await TestSocket.open(t, httpPort);
  await socket.send({ op: 'auth' });
  await socket.message('ready');
  await socket.send({ op: 'subscribe', partitions: [{ topic, partition: 0 }], from: 'earliest' });
  await socket.message('assigned');
  await socket.send({ op: 'credit', records: expected, bytes: 1 << 20 });
  await socket.until(`${expected} records`, () => socket.records.length >= expected);
  socket.ws.terminate();
}

t.test('a group subscription closed at once leaves the group', async (t) => {
  const httpPort = await freePort();
  const broker = await BrokerProcess.start(t, { overrides: { 'http.listeners': `http://127.0.0.1:${httpPort}`, 'offsets.topic.num.partitions': 1, 'group.initial.rebalance.delay.ms': 0 } });
  await createTopic(broker.port, 'left', 2);
  await produce(broker.port, 'left', ['a', 'b', 'c']);
  // Cut at different points of the subscription: before its Metadata answer, during the join, after it.
  for (const delayMs of [0, 0, 0, 1, 2, 5, 10, 20, 50, 100]) {
    const socket = await TestSocket.open(t, httpPort);
    await socket.send({ op: 'auth' });
    await socket.message('ready');
    await socket.send({ op: 'subscribe', topics: ['left'], group: 'cut', from: 'earliest' });
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    socket.ws.terminate();
  }
  // The member's session timeout is 30 s: an empty group well before it means each member left.
  const deadline = Date.now() + 8_000;
  let members = await groupMembers(broker.port, 'cut');
  while (members > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    members = await groupMembers(broker.port, 'cut');
  }
  t.equal(members, 0, 'no member left behind by the closed sockets');

  const alone = await TestSocket.open(t, httpPort);
  await alone.send({ op: 'auth' });
  await alone.message('ready');
  await alone.send({ op: 'subscribe', topics: ['left'], group: 'cut', from: 'earliest' });
  const assigned = await alone.message('assigned');
  t.equal((assigned.partitions as unknown[]).length, 2, 'a new member is alone in the group: both partitions');
  await freshSocketReads(t, httpPort, 'left', 3);
});

/** Masked client frames (a zero mask: the payload as is) of one text message, `count` times. */
function textFrames(text: string, count: number): Buffer {
  const payload = Buffer.from(text, 'utf8');
  if (payload.length > 125) throw new Error('a short message only');
  const frame = Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
  return Buffer.concat(Array.from({ length: count }, () => frame));
}

/**
 * Writes `chunks` to a logged-in socket that reads nothing back, sampling the broker's RSS, until
 * all are written or the broker stops reading (a write not drained in `stallMs`); answers the peak.
 */
async function floodWithoutReading(socket: TestSocket, pid: number, chunks: readonly Buffer[], stallMs = 3_000): Promise<{ peakRssBytes: number; writtenBytes: number }> {
  const raw = (socket.ws as unknown as { _socket: import('node:net').Socket })._socket;
  socket.ws.pause(); // its answers stay in the broker's buffers
  let peakRssBytes = processUsage(pid).rssBytes;
  const sampler = setInterval(() => {
    peakRssBytes = Math.max(peakRssBytes, processUsage(pid).rssBytes);
  }, 50);
  let writtenBytes = 0;
  try {
    for (const chunk of chunks) {
      writtenBytes += chunk.length;
      if (raw.write(chunk)) continue;
      const drained = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), stallMs);
        raw.once('drain', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
      if (!drained) break;
    }
    peakRssBytes = Math.max(peakRssBytes, processUsage(pid).rssBytes);
  } finally {
    clearInterval(sampler);
  }
  return { peakRssBytes, writtenBytes };
}

t.test('a client that floods commands and reads no answers is held to a bound', async (t) => {
  const httpPort = await freePort();
  const broker = await BrokerProcess.start(t, { overrides: { 'http.listeners': `http://127.0.0.1:${httpPort}` } });
  await createTopic(broker.port, 'flooded', 1);
  await produce(broker.port, 'flooded', ['a', 'b']);
  const pid = broker.pid!;
  const before = processUsage(pid);

  const socket = await TestSocket.open(t, httpPort);
  await socket.send({ op: 'auth' });
  await socket.message('ready');
  // 16 bytes in, about 90 bytes of error out: 4 million of them would be 360 MB of answers.
  const chunk = textFrames('{"op":"x"}', 65_536);
  const { peakRssBytes, writtenBytes } = await floodWithoutReading(socket, pid, Array.from({ length: 64 }, () => chunk));
  t.ok(peakRssBytes - before.rssBytes < 96 * 1024 * 1024, `the broker's RSS grew ${Math.round((peakRssBytes - before.rssBytes) / 1048576)} MB under a flood of ${Math.round(writtenBytes / 1048576)} MB of commands whose answers are not read`);
  socket.ws.terminate();

  await freshSocketReads(t, httpPort, 'flooded', 2);
  await produce(broker.port, 'flooded', ['c']);
  await freshSocketReads(t, httpPort, 'flooded', 3);
  const after = await waitForUsage(pid, (usage) => usage.descriptors <= before.descriptors + 2);
  t.ok(after.descriptors <= before.descriptors + 2, `descriptors back (${before.descriptors} before, ${after.descriptors} after)`);
});

/** Waits (up to 10 s) for the broker's usage to satisfy `ok`; answers the last reading. */
async function waitForUsage(pid: number, ok: (usage: ProcessUsage) => boolean): Promise<ProcessUsage> {
  const deadline = Date.now() + 10_000;
  let usage = processUsage(pid);
  while (!ok(usage) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    usage = processUsage(pid);
  }
  return usage;
}

t.test('a hostile group leader assigns a WebSocket member a topic it did not subscribe to and may not read', async (t) => {
  const httpPort = await freePort();
  const { plainPort } = await startSaslBroker(t, {
    'http.listeners': `http://127.0.0.1:${httpPort}`,
    'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
    'super.users': 'User:ANONYMOUS',
    'offsets.topic.num.partitions': 1,
    'group.initial.rebalance.delay.ms': 0,
  });
  await createTopic(plainPort, 'open', 1);
  await createTopic(plainPort, 'secret', 1);
  await produce(plainPort, 'open', ['public']);
  await produce(plainPort, 'secret', ['classified']);
  t.equal(await setScramCredential(t, plainPort, 'alice', 'SCRAM-SHA-512', 'alice-pw'), 'NONE', 'user alice');
  const added = await spate(`127.0.0.1:${plainPort}`, ['acls', 'add', '--allow-principal', 'User:alice', '--consumer', '--topic', 'open', '--group', 'mixed']);
  t.equal(added.code, 0, describe(added));

  // The leader (a superuser's kafkajs, first in the group) gives every other member the secret topic as well.
  const hostileAssigner: kafkajs.PartitionAssigner = () => ({
    name: 'RoundRobinAssigner',
    version: 0,
    assign: async ({ members }) =>
      members.map((member) => ({
        memberId: member.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: member.memberId.startsWith('spate-ws') ? { open: [0], secret: [0] } : {}, userData: Buffer.alloc(0) }),
      })),
    protocol: ({ topics }) => ({ name: 'RoundRobinAssigner', metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }) }),
  });
  const leader = new Kafka({ brokers: [`127.0.0.1:${plainPort}`], clientId: 'hostile-leader', logLevel: logLevel.NOTHING }).consumer({ groupId: 'mixed', partitionAssigners: [hostileAssigner], heartbeatInterval: 300 });
  t.teardown(() => leader.disconnect());
  await leader.connect();
  await leader.subscribe({ topic: 'open' });
  let joined = false;
  leader.on(leader.events.GROUP_JOIN, () => {
    joined = true;
  });
  await leader.run({ eachMessage: async () => undefined });

  const alice = await TestSocket.open(t, httpPort);
  await alice.until('the leader to join', () => joined);
  await alice.send({ op: 'auth', username: 'alice', password: 'alice-pw' });
  await alice.message('ready');
  await alice.send({ op: 'subscribe', topics: ['open'], group: 'mixed', from: 'earliest' });
  await alice.send({ op: 'credit', records: 100, bytes: 1 << 20 });
  await alice.until('the record of the topic alice subscribed to', () => alice.records.find((record) => record.value === 'public'), 30_000);
  t.notOk(alice.records.some((record) => record.value === 'classified'), 'nothing of the topic alice may not read');
  t.equal(alice.closed, null, 'alice goes on reading what she subscribed to');
});

t.test('a hostile group leader assigns a WebSocket member more partitions than a fetch may name', async (t) => {
  const httpPort = await freePort();
  const broker = await BrokerProcess.start(t, { overrides: { 'http.listeners': `http://127.0.0.1:${httpPort}`, 'offsets.topic.num.partitions': 1, 'group.initial.rebalance.delay.ms': 0 } });
  await createTopic(broker.port, 'many', 1);
  await produce(broker.port, 'many', ['one']);
  const flood = Array.from({ length: 100_001 }, (_, partition) => partition);
  const hostileAssigner: kafkajs.PartitionAssigner = () => ({
    name: 'RoundRobinAssigner',
    version: 0,
    assign: async ({ members }) =>
      members.map((member) => ({
        memberId: member.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: member.memberId.startsWith('spate-ws') ? { many: flood } : {}, userData: Buffer.alloc(0) }),
      })),
    protocol: ({ topics }) => ({ name: 'RoundRobinAssigner', metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }) }),
  });
  const leader = new Kafka({ brokers: [`127.0.0.1:${broker.port}`], clientId: 'hostile-leader', logLevel: logLevel.NOTHING }).consumer({ groupId: 'flooded', partitionAssigners: [hostileAssigner], heartbeatInterval: 300 });
  t.teardown(() => leader.disconnect());
  let joined = false;
  leader.on(leader.events.GROUP_JOIN, () => {
    joined = true;
  });
  await leader.connect();
  await leader.subscribe({ topic: 'many' });
  await leader.run({ eachMessage: async () => undefined });

  const socket = await TestSocket.open(t, httpPort);
  await socket.until('the leader to join', () => joined);
  await socket.send({ op: 'auth' });
  await socket.message('ready');
  await socket.send({ op: 'subscribe', topics: ['many'], group: 'flooded', from: 'earliest' });
  const closed = await socket.until('the close', () => socket.closed ?? undefined, 30_000);
  t.equal(closed.code, 4409, `the membership fails (${closed.reason})`);
  t.match(closed.reason, /INVALID_REQUEST/, 'as an invalid assignment');
  await freshSocketReads(t, httpPort, 'many', 1);
});

t.test('a client with one record of credit holds at most one decode budget of well-compressed partitions', async (t) => {
  const httpPort = await freePort();
  const broker = await BrokerProcess.start(t, { overrides: { 'http.listeners': `http://127.0.0.1:${httpPort}` } });
  const partitions = 64;
  await createTopic(broker.port, 'dense', partitions);
  // Each partition: one gzip batch of 50 values of 80 KB ('a'), 4 MB that compress to a few KB: all 64 fit one fetch (512 KiB).
  const value = 'a'.repeat(80_000);
  await withKafka(broker.port, async (kafka) => {
    const producer = kafka.producer();
    await producer.connect();
    try {
      for (let partition = 0; partition < partitions; partition++) {
        await producer.send({ topic: 'dense', compression: kafkajs.CompressionTypes.GZIP, acks: -1, messages: Array.from({ length: 50 }, () => ({ value, partition })) });
      }
    } finally {
      await producer.disconnect();
    }
  });
  const pid = broker.pid!;
  await freshSocketReads(t, httpPort, 'dense', 1); // what reading needs at all (a decode thread) is in the RSS before
  const before = processUsage(pid);
  const socket = await TestSocket.open(t, httpPort);
  await socket.send({ op: 'auth' });
  await socket.message('ready');
  await socket.send({ op: 'subscribe', topics: ['dense'], from: 'earliest' });
  await socket.message('assigned');
  await socket.send({ op: 'credit', records: 1, bytes: 1 });
  await socket.until('one record', () => socket.records.length >= 1);
  const held = processUsage(pid);
  t.ok(held.rssBytes - before.rssBytes < 96 * 1024 * 1024, `the broker's RSS grew ${Math.round((held.rssBytes - before.rssBytes) / 1048576)} MB for a client holding one record of credit over ${partitions} partitions of 4 MB each`);
  socket.ws.terminate();
  await freshSocketReads(t, httpPort, 'dense', 2);
});
