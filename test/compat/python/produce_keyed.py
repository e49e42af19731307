"""Produces COUNT keyed messages with one compression codec and reports every delivery.

usage: produce_keyed.py BOOTSTRAP TOPIC CODEC COUNT KEYS [EXTRA_CONFIG_JSON]

Message i has key "key-%04d" % (i % KEYS) and the value spate_compat.keyed_value(i % KEYS,
i // KEYS): messages of one key carry an increasing per-key sequence number.
Produced with acks=all and compression.codec=CODEC, plus the producer settings in
EXTRA_CONFIG_JSON when given (e.g. {"enable.idempotence": true}).

Prints, as delivery reports arrive (batched per poll):
  {"type":"delivered","records":[[partition,offset,keyIndex,seq],...]}
  {"type":"failed","records":[[keyIndex,seq,"error"],...]}
and at the end
  {"type":"done","produced":n,"delivered":n,"failed":n,"undelivered":n,"seconds":s}
("undelivered": messages still queued when flush() gave up).
"""

import json
import sys
import time

from confluent_kafka import Producer

from spate_compat import emit, error_text, keyed_value


def main():
    bootstrap, topic, codec, count, keys = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    extra = json.loads(sys.argv[6]) if len(sys.argv) > 6 else {}
    producer = Producer({
        'bootstrap.servers': bootstrap,
        'acks': 'all',
        'compression.codec': codec,
        'linger.ms': 20,
        'batch.num.messages': 10000,
        'queue.buffering.max.messages': 200000,
        'message.timeout.ms': 60000,
        **extra,
    })
    delivered, failed = [], []
    totals = {'delivered': 0, 'failed': 0}

    def on_delivery(err, msg):
        # The opaque state is in the key and value: parse them back.
        key_index = int(msg.key()[4:])
        seq = int(msg.value().split(b'|', 2)[1])
        if err is None:
            delivered.append([msg.partition(), msg.offset(), key_index, seq])
        else:
            failed.append([key_index, seq, error_text(err)])

    def report():
        if delivered:
            totals['delivered'] += len(delivered)
            emit({'type': 'delivered', 'records': delivered})
            delivered.clear()
        if failed:
            totals['failed'] += len(failed)
            emit({'type': 'failed', 'records': failed})
            failed.clear()

    started = time.monotonic()
    for i in range(count):
        key_index, seq = i % keys, i // keys
        while True:
            try:
                producer.produce(topic, key=b'key-%04d' % key_index, value=keyed_value(key_index, seq).encode('utf-8'),
                                 on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
                report()
        if i % 1000 == 999:
            producer.poll(0)
            report()
    undelivered = producer.flush(90)
    report()
    emit({'type': 'done', 'produced': count, 'delivered': totals['delivered'], 'failed': totals['failed'],
          'undelivered': undelivered, 'seconds': round(time.monotonic() - started, 3)})


if __name__ == '__main__':
    main()
