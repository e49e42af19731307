// The kafkajs producer of bench/transactions.ts, in a process of its own so that its
// JavaScript does not run on the broker's main thread. kafkajs 2.2.4 has no background batching:
// a producer awaits each send(). Both modes send the records in groups of TXN_RECORDS, one
// send() each, awaited one after another, with maxInFlightRequests 1 (as
// test/compat/transactions-kafkajs.test.ts):
//   idempotent     producer({ idempotent: true }), send() after send();
//   transactional  producer({ transactionalId }), each group in its own transaction:
//                  transaction(), send(), commit().
// So the transaction (AddPartitionsToTxn, EndTxn) is the only difference between the two.
//
//   node dist/bench/lib/kafkajs-txn-producer.js BOOTSTRAP TOPIC COUNT SIZE idempotent|transactional TXN_RECORDS [TRANSACTIONAL_ID]
//
// Prints one JSON line as bench/scripts/txn-clients.py does: {"type":"done", "records", "bytes",
// "transactions", "seconds", "cpuSeconds", "initSeconds"} (the clock from the first
// send() to the last acknowledgement or commit; the topic's metadata is fetched inside it, by the
// first send()), or {"type":"failed", "error"} and exit status 1.

import { performance } from 'node:perf_hooks';
import kafkajs from 'kafkajs';

const { Kafka, logLevel, Partitioners } = kafkajs;

function emit(line: object): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function main(): Promise<void> {
  const [bootstrap, topic, countText, sizeText, mode, txnRecordsText, transactionalId] = process.argv.slice(2);
  const count = Number(countText);
  const size = Number(sizeText);
  const txnRecords = Number(txnRecordsText);
  if (bootstrap === undefined || topic === undefined || !(count > 0) || !(size > 0) || !(txnRecords > 0)) throw new Error('usage: BOOTSTRAP TOPIC COUNT SIZE idempotent|transactional TXN_RECORDS [TRANSACTIONAL_ID]');
  if (mode !== 'idempotent' && mode !== 'transactional') throw new Error(`mode must be idempotent or transactional, not ${mode}`);
  if (mode === 'transactional' && transactionalId === undefined) throw new Error('transactional needs a TRANSACTIONAL_ID');

  const kafka = new Kafka({ brokers: [bootstrap], clientId: 'spate-bench-txn', logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 50 } });
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    ...(mode === 'transactional' ? { transactionalId } : {}),
  });
  const payload = Buffer.alloc(size, 0x78);
  const group = Array.from({ length: txnRecords }, () => ({ value: payload }));

  const initStarted = performance.now();
  // connect() asks the idempotent producer's id; the transactional id's InitProducerId comes with the
  // first transaction(), so one is begun and aborted empty (kafkajs sends no EndTxn for it) outside the clock.
  await producer.connect();
  if (mode === 'transactional') await (await producer.transaction()).abort();
  const initSeconds = (performance.now() - initStarted) / 1000;

  const cpu0 = process.cpuUsage();
  const started = performance.now();
  let sent = 0;
  let transactions = 0;
  while (sent < count) {
    const messages = count - sent >= txnRecords ? group : group.slice(0, count - sent);
    if (mode === 'idempotent') {
      await producer.send({ topic, messages, acks: -1 });
    } else {
      const transaction = await producer.transaction();
      try {
        await transaction.send({ topic, messages, acks: -1 });
        await transaction.commit();
      } catch (error) {
        await transaction.abort().catch(() => undefined);
        throw error;
      }
      transactions++;
    }
    sent += messages.length;
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await producer.disconnect();
  emit({ type: 'done', records: count, bytes: count * size, transactions, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, initSeconds });
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    emit({ type: 'failed', error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
    process.exit(1);
  },
);
