// A kafkajs 2.2.4 consumer in a consumer group, run as a child process by the group
// tests (test/compat/groups-*.test.ts) so that it can be killed with SIGKILL. Plain
// JavaScript (ESM, not compiled): `node test/compat/kafkajs-group-consumer.js ...`.
//
// usage: kafkajs-group-consumer.js BOOTSTRAP TOPIC GROUP NAME [--session-timeout-ms 6000]
//          [--heartbeat-interval-ms 1000] [--max-wait-ms 500] [--from-beginning]
//
// consumer.run() with eachBatch: a batch is "processed" by printing it; kafkajs then
// resolves its last offset and, with autoCommit (the default), commits after the batch.
// SIGTERM disconnects cleanly (kafkajs stops fetching, commits, leaves the group) and exits.
//
// Prints one JSON object per line ("name" and "t" — Date.now()/1000 — in every line):
//   {"type":"joined","memberId":"...","isLeader":bool,"protocol":"...","partitions":[p,...]}
//   {"type":"rebalancing"}
//   {"type":"records","records":[[partition,offset,value],...]}    one batch
//   {"type":"committed","generationId":n,"offsets":[[partition,offset],...]}   COMMIT_OFFSETS event
//                                     (after the broker acknowledged the commit)
//   {"type":"crash","error":"...","errorType":"...","errorName":"...","wrapper":"...","restart":bool}
//       CRASH event: errorName/errorType of the original error (KafkaJSProtocolError and
//       its type), wrapper the name of the error kafkajs wrapped it in (if any)
//   {"type":"closed"}

import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;

const [bootstrap, topic, groupId, name, ...rest] = process.argv.slice(2);
const options = { 'session-timeout-ms': 6000, 'heartbeat-interval-ms': 1000, 'max-wait-ms': 500, 'from-beginning': false };
for (let i = 0; i < rest.length; i++) {
  const key = rest[i].replace(/^--/, '');
  if (key === 'from-beginning') options[key] = true;
  else options[key] = Number(rest[++i]);
}

function out(line) {
  // Writes to a pipe are synchronous on Linux: the line is out before the batch is resolved.
  process.stdout.write(JSON.stringify({ ...line, name, t: Date.now() / 1000 }) + '\n');
}

// BOOTSTRAP may list several brokers, comma-separated (a cluster test kills some of them).
const kafka = new Kafka({ clientId: name, brokers: bootstrap.split(','), logLevel: logLevel.NOTHING, retry: { retries: 10 } });
const consumer = kafka.consumer({
  groupId,
  sessionTimeout: options['session-timeout-ms'],
  heartbeatInterval: options['heartbeat-interval-ms'],
  maxWaitTimeInMs: options['max-wait-ms'],
  retry: { retries: 10 },
});

consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
  out({
    type: 'joined',
    memberId: payload.memberId,
    isLeader: payload.isLeader,
    protocol: payload.groupProtocol,
    partitions: [...(payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b),
  });
});
consumer.on(consumer.events.REBALANCING, () => out({ type: 'rebalancing' }));
consumer.on(consumer.events.COMMIT_OFFSETS, ({ payload }) => {
  const offsets = payload.topics.filter((each) => each.topic === topic).flatMap((each) => each.partitions.map((p) => [Number(p.partition), Number(p.offset)]));
  out({ type: 'committed', generationId: payload.groupGenerationId, offsets: offsets.sort((a, b) => a[0] - b[0]) });
});
consumer.on(consumer.events.CRASH, ({ payload }) => {
  const error = payload.error;
  const original = error.originalError ?? error;
  out({ type: 'crash', error: String(error.message), errorType: original.type ?? error.type ?? null, errorName: original.name ?? error.name, wrapper: error.name, restart: payload.restart });
});

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  consumer
    .disconnect()
    .catch((error) => out({ type: 'disconnect_error', error: String(error) }))
    .finally(() => {
      out({ type: 'closed' });
      process.exit(0);
    });
});

await consumer.connect();
await consumer.subscribe({ topics: [topic], fromBeginning: options['from-beginning'] });
await consumer.run({
  eachBatch: async ({ batch }) => {
    out({ type: 'records', records: batch.messages.map((message) => [batch.partition, Number(message.offset), message.value?.toString() ?? null]) });
  },
});
out({ type: 'running' });
