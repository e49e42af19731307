"""A consume-transform-produce loop with exactly-once semantics, as confluent-kafka documents it:
read INPUT with read_committed in GROUP, and for each batch write "out-<value>" to OUTPUT and
the consumed positions to the group, in one transaction (init_transactions, begin_transaction,
send_offsets_to_transaction, commit_transaction). On an error that requires it the transaction
is aborted and the consumer rewound to its committed offsets; retriable errors are retried;
a fatal error ends the loop. Stops once the group's committed positions reach the input's
high watermarks, taken at start (the input is written before the loop runs).

usage: txn_loop.py BOOTSTRAP INPUT OUTPUT GROUP TRANSACTIONAL_ID PARTITIONS

Prints, one JSON object per line:
  {"type":"committed","records":n,"total":n}     after each committed transaction
  {"type":"aborted","error":"..."}                 a transaction aborted (and the consumer rewound)
  {"type":"retry","error":"..."}                   a retriable error, the call retried
  {"type":"done","total":n,"fatal":null|"..."}
"""

import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from spate_compat import emit, error_text

BATCH = 500
CALL_TIMEOUT_S = 30


def main():
    bootstrap, input_topic, output_topic, group, transactional_id, partitions = sys.argv[1:7]
    partitions = int(partitions)
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
        'linger.ms': 5,
    })
    high = {}
    for partition in range(partitions):
        _, high[partition] = consumer.get_watermark_offsets(TopicPartition(input_topic, partition), timeout=15, cached=False)
    producer.init_transactions(CALL_TIMEOUT_S)
    consumer.subscribe([input_topic])
    committed_positions = {p: 0 for p in range(partitions)}
    total = 0
    fatal = None

    def rewind():
        assignment = consumer.assignment()
        if not assignment:
            return
        for tp in consumer.committed(assignment, timeout=CALL_TIMEOUT_S):
            consumer.seek(TopicPartition(tp.topic, tp.partition, tp.offset if tp.offset >= 0 else 0))

    def retrying(call):
        while True:
            try:
                call()
                return
            except KafkaException as err:
                if err.args[0].retriable():
                    emit({'type': 'retry', 'error': error_text(err.args[0])})
                    time.sleep(0.1)
                    continue
                raise

    while any(committed_positions[p] < high[p] for p in range(partitions)):
        messages = [m for m in consumer.consume(num_messages=BATCH, timeout=1.0) if m.error() is None]
        if not messages:
            continue
        try:
            producer.begin_transaction()
            for message in messages:
                producer.produce(output_topic, key=message.key(), value=b'out-' + message.value())
                producer.poll(0)
            positions = consumer.position(consumer.assignment())
            retrying(lambda: producer.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), CALL_TIMEOUT_S))
            retrying(lambda: producer.commit_transaction(CALL_TIMEOUT_S))
        except KafkaException as err:
            error = err.args[0]
            if error.txn_requires_abort():
                emit({'type': 'aborted', 'error': error_text(error)})
                retrying(lambda: producer.abort_transaction(CALL_TIMEOUT_S))
                rewind()
                continue
            fatal = error_text(error)
            break
        total += len(messages)
        for tp in positions:
            if tp.offset >= 0:
                committed_positions[tp.partition] = tp.offset
        emit({'type': 'committed', 'records': len(messages), 'total': total})
    emit({'type': 'done', 'total': total, 'fatal': fatal})
    consumer.close()


if __name__ == '__main__':
    main()
