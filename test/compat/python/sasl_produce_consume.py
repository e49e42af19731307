"""A confluent-kafka producer and a group consumer side by side on a SASL listener, for as
long as the test asks: the re-authentication test (test/security/reauth.test.ts) runs it
across several SASL session lifetimes.

usage: sasl_produce_consume.py TOPIC SECONDS CONFIG_JSON

CONFIG_JSON holds the librdkafka settings both clients get (bootstrap.servers,
security.protocol, sasl.*, debug, ...). The producer (acks=all, idempotent) sends "m-<i>"
every 100 ms for SECONDS (the first one before the consumer starts, making the topic) while the consumer (group TOPIC-group, from the earliest offset)
reads; then the producer flushes and the consumer reads on until it has every value (or
20 s passed). librdkafka's own log (with CONFIG_JSON's debug contexts) goes to stderr.

Prints one line at the end:
  {"type":"done","produced":n,"delivered":n,"failed":[errors],"consumed":[values],
   "consume_errors":[errors],"client_errors":[errors]}
"""

import json
import sys
import time

from confluent_kafka import Consumer, Producer

from spate_compat import emit, error_text


def main():
    topic, seconds = sys.argv[1], float(sys.argv[2])
    config = json.loads(sys.argv[3])
    client_errors, failed, consume_errors, consumed = [], [], [], []
    delivered = [0]

    def on_error(err):
        client_errors.append(error_text(err))

    def on_delivery(err, _msg):
        if err is None:
            delivered[0] += 1
        else:
            failed.append(error_text(err))

    producer = Producer({**config, 'acks': 'all', 'enable.idempotence': True, 'linger.ms': 5, 'error_cb': on_error})
    # The first record makes the topic, so the consumer does not subscribe to one that is not there yet.
    producer.produce(topic, value=b'm-0', on_delivery=on_delivery)
    producer.flush(30)
    consumer = Consumer({**config, 'group.id': topic + '-group', 'auto.offset.reset': 'earliest',
                         'enable.auto.commit': True, 'auto.commit.interval.ms': 500, 'error_cb': on_error})
    consumer.subscribe([topic])

    def consume(timeout):
        msg = consumer.poll(timeout)
        if msg is None:
            return
        if msg.error() is not None:
            consume_errors.append(error_text(msg.error()))
        else:
            consumed.append(msg.value().decode('utf-8'))

    started = time.monotonic()
    produced = 1
    while time.monotonic() - started < seconds:
        if produced < int((time.monotonic() - started) * 10) + 1:
            producer.produce(topic, value=('m-%d' % produced).encode('utf-8'), on_delivery=on_delivery)
            produced += 1
        producer.poll(0)
        consume(0.05)
    producer.flush(30)
    deadline = time.monotonic() + 20
    while len(consumed) < produced and time.monotonic() < deadline:
        consume(0.1)
    consumer.close()
    emit({'type': 'done', 'produced': produced, 'delivered': delivered[0], 'failed': failed[:5], 'consumed': consumed,
          'consume_errors': consume_errors[:5], 'client_errors': client_errors[:20]})


if __name__ == '__main__':
    main()
