"""Produces COUNT records to partition 0 with the given acks and reports each delivery.

usage: produce_acks.py BOOTSTRAP TOPIC ACKS PREFIX COUNT [EXTRA_CONFIG_JSON]

The values are PREFIX-0 .. PREFIX-(COUNT-1), one record per request (each is flushed before
the next is produced), so every record gets its own batch and its own answer from the
leader. No retries: the delivery callback carries the broker's first answer (a retriable
NOT_ENOUGH_REPLICAS or REQUEST_TIMED_OUT included), not a local timeout after retrying.

Prints {"type":"delivery","value":v,"offset":n|null,"error":null|"NAME: text","code":n|null}
per record and {"type":"done"} at the end.
"""

import json
import sys

from confluent_kafka import Producer

from spate_compat import emit, error_text


def main():
    bootstrap, topic, acks, prefix, count = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    extra = json.loads(sys.argv[6]) if len(sys.argv) > 6 else {}
    producer = Producer({
        'bootstrap.servers': bootstrap,
        'acks': acks,
        'linger.ms': 0,
        'retries': 0,
        'enable.idempotence': False,
        'request.timeout.ms': 2000,
        'message.timeout.ms': 10000,
        **extra,
    })

    def on_delivery(err, msg):
        emit({
            'type': 'delivery',
            'value': msg.value().decode('utf-8'),
            'offset': None if err is not None else msg.offset(),
            'error': error_text(err),
            'code': None if err is None else err.code(),
        })

    for index in range(count):
        producer.produce(topic, value=('%s-%d' % (prefix, index)).encode('utf-8'), partition=0, on_delivery=on_delivery)
        producer.flush(30)
    emit({'type': 'done', 'undelivered': len(producer)})


if __name__ == '__main__':
    main()
