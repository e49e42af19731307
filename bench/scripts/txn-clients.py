"""The librdkafka clients of bench/transactions.ts (confluent-kafka, Debian's python3-confluent-kafka
on librdkafka 2.0.2; run with /usr/bin/python3, which has it).

  txn-clients.py produce BOOTSTRAP TOPIC COUNT SIZE idempotent|transactional TXN_RECORDS [TRANSACTIONAL_ID]
      COUNT records of SIZE bytes to TOPIC (no key: librdkafka's sticky partitioner spreads
      them). idempotent: enable.idempotence, produce() asynchronously, then flush(), as a
      producer that needs no transactions would. transactional: transactional.id; the records
      go in transactions of TXN_RECORDS each: begin_transaction(), TXN_RECORDS asynchronous
      produce() calls, commit_transaction() (which flushes, then ends the transaction).
      The clock runs from the first produce() (after init_transactions) to the last delivery
      (idempotent) or the last commit (transactional).

  txn-clients.py loop BOOTSTRAP INPUT OUTPUT GROUP TRANSACTIONAL_ID PARTITIONS BATCH
      A consume-transform-produce loop with exactly-once semantics, as confluent-kafka documents
      it and test/compat/python/txn_loop.py runs it: INPUT read with read_committed in GROUP, and
      for each consume() batch of at most BATCH records the results ("out-" + the value) written
      to OUTPUT and the consumed positions to the group, in one transaction. Stops once the
      committed positions reach INPUT's high watermarks taken at start (the input is written
      first). The clock runs from the first record received to the last commit.

Prints one JSON line: {"type":"done", "records", "bytes", "transactions", "seconds", "cpuSeconds",
"initSeconds"}, or {"type":"failed", "error"} and exits 1. cpuSeconds is the whole process's
(Python and librdkafka's threads), over the clock only. Nothing fails on purpose here, so any
error, an aborted transaction included, ends the run as failed.
"""

import json
import resource
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition

CALL_TIMEOUT_S = 30
# Common to both producer modes, so that the transaction is the only difference.
PRODUCER_CONFIG = {
    'linger.ms': 5,
    'batch.num.messages': 10000,
    'compression.codec': 'none',
    'queue.buffering.max.messages': 200000,
}


def emit(obj):
    sys.stdout.write(json.dumps(obj, separators=(',', ':')) + '\n')
    sys.stdout.flush()


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Deliveries:
    """Counts delivery reports; the first error ends the run."""

    def __init__(self):
        self.delivered = 0
        self.error = None

    def __call__(self, err, _msg):
        if err is not None:
            if self.error is None:
                self.error = str(err)
        else:
            self.delivered += 1


def produce_all(producer, topic, payload, count, deliveries):
    """count asynchronous produce() calls; a full local queue waits on poll()."""
    for _ in range(count):
        while True:
            try:
                producer.produce(topic, payload, on_delivery=deliveries)
                break
            except BufferError:
                producer.poll(0.005)
        producer.poll(0)


def produce(bootstrap, topic, count, size, mode, txn_records, transactional_id):
    config = {'bootstrap.servers': bootstrap, **PRODUCER_CONFIG}
    if mode == 'idempotent':
        config['enable.idempotence'] = True
    elif mode == 'transactional':
        config['transactional.id'] = transactional_id
        config['transaction.timeout.ms'] = 60000
    else:
        raise ValueError('mode must be idempotent or transactional, not %s' % mode)
    producer = Producer(config)
    deliveries = Deliveries()
    payload = b'x' * size
    init_started = time.monotonic()
    if mode == 'transactional':
        producer.init_transactions(CALL_TIMEOUT_S)
    # The topic's metadata before the clock: librdkafka would otherwise learn it after the first produce().
    producer.list_topics(topic, timeout=CALL_TIMEOUT_S)
    init_seconds = time.monotonic() - init_started
    cpu0 = cpu_seconds()
    started = time.monotonic()
    transactions = 0
    if mode == 'idempotent':
        produce_all(producer, topic, payload, count, deliveries)
        remaining = producer.flush(CALL_TIMEOUT_S * 4)
        if remaining != 0:
            raise RuntimeError('%d records still undelivered after flush()' % remaining)
    else:
        sent = 0
        while sent < count:
            batch = min(txn_records, count - sent)
            producer.begin_transaction()
            produce_all(producer, topic, payload, batch, deliveries)
            producer.commit_transaction(CALL_TIMEOUT_S)
            sent += batch
            transactions += 1
    seconds = time.monotonic() - started
    cpu = cpu_seconds() - cpu0
    if deliveries.error is not None:
        raise RuntimeError('a delivery failed: %s' % deliveries.error)
    if deliveries.delivered != count:
        raise RuntimeError('%d of %d records delivered' % (deliveries.delivered, count))
    emit({'type': 'done', 'records': count, 'bytes': count * size, 'transactions': transactions,
          'seconds': seconds, 'cpuSeconds': cpu, 'initSeconds': init_seconds})


def loop(bootstrap, input_topic, output_topic, group, transactional_id, partitions, batch):
    consumer = Consumer({
        'bootstrap.servers': bootstrap,
        'group.id': group,
        'isolation.level': 'read_committed',
        'enable.auto.commit': False,
        'auto.offset.reset': 'earliest',
        'session.timeout.ms': 10000,
    })
    producer = Producer({
        'bootstrap.servers': bootstrap,
        'transactional.id': transactional_id,
        'transaction.timeout.ms': 60000,
        **PRODUCER_CONFIG,
    })
    init_started = time.monotonic()
    high = {}
    for partition in range(partitions):
        _, high[partition] = consumer.get_watermark_offsets(TopicPartition(input_topic, partition), timeout=15, cached=False)
    producer.init_transactions(CALL_TIMEOUT_S)
    # The output topic's metadata before the first transaction: librdkafka otherwise learns it only
    # after the first produce(), up to a second later (its metadata refresh), inside the clock.
    producer.list_topics(output_topic, timeout=CALL_TIMEOUT_S)
    consumer.subscribe([input_topic])
    init_seconds = None
    deliveries = Deliveries()
    committed = {p: 0 for p in range(partitions)}
    records = 0
    payload_bytes = 0
    transactions = 0
    started = None
    cpu0 = None
    while any(committed[p] < high[p] for p in range(partitions)):
        messages = [m for m in consumer.consume(num_messages=batch, timeout=1.0) if m.error() is None]
        if not messages:
            continue
        if started is None:
            started = time.monotonic()
            cpu0 = cpu_seconds()
            init_seconds = started - init_started
        producer.begin_transaction()
        for message in messages:
            value = message.value()
            while True:
                try:
                    producer.produce(output_topic, b'out-' + value, key=message.key(), on_delivery=deliveries)
                    break
                except BufferError:
                    producer.poll(0.005)
            producer.poll(0)
        positions = consumer.position(consumer.assignment())
        producer.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), CALL_TIMEOUT_S)
        producer.commit_transaction(CALL_TIMEOUT_S)
        transactions += 1
        records += len(messages)
        payload_bytes += sum(len(m.value()) for m in messages)
        for tp in positions:
            if tp.offset >= 0:
                committed[tp.partition] = tp.offset
    seconds = time.monotonic() - started
    cpu = cpu_seconds() - cpu0
    consumer.close()
    if deliveries.error is not None:
        raise RuntimeError('a delivery failed: %s' % deliveries.error)
    emit({'type': 'done', 'records': records, 'bytes': payload_bytes, 'transactions': transactions,
          'seconds': seconds, 'cpuSeconds': cpu, 'initSeconds': init_seconds})


def main():
    command, args = sys.argv[1], sys.argv[2:]
    try:
        if command == 'produce':
            bootstrap, topic, count, size, mode, txn_records = args[:6]
            produce(bootstrap, topic, int(count), int(size), mode, int(txn_records), args[6] if len(args) > 6 else None)
        elif command == 'loop':
            bootstrap, input_topic, output_topic, group, transactional_id, partitions, batch = args[:7]
            loop(bootstrap, input_topic, output_topic, group, transactional_id, int(partitions), int(batch))
        else:
            raise ValueError('unknown command %s' % command)
    except Exception as exc:  # noqa: BLE001 - reported to bench/transactions.ts, which fails the run
        emit({'type': 'failed', 'error': '%s: %s' % (type(exc).__name__, exc)})
        sys.exit(1)


if __name__ == '__main__':
    main()
