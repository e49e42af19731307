"""Produces the given keyed records, in order, to partition 0, and reports every delivery.

usage: produce_records.py BOOTSTRAP TOPIC CODEC RECORDS_JSON [EXTRA_CONFIG_JSON]

RECORDS_JSON is a list of [key, value] pairs; a null value is a tombstone (a record with a
null value, which compaction keeps for delete.retention.ms and then removes). Produced with
acks=all, compression.codec=CODEC, at most 10 messages per batch (so that small segments
roll often), plus the producer settings in EXTRA_CONFIG_JSON.

Prints {"type":"delivered","records":[[offset,key,value],...]} as reports arrive and
{"type":"done","delivered":n,"failed":n,"undelivered":n,"errors":[...]} at the end.
"""

import json
import sys

from confluent_kafka import Producer

from spate_compat import emit, error_text


def main():
    bootstrap, topic, codec = sys.argv[1], sys.argv[2], sys.argv[3]
    records = json.loads(sys.argv[4])
    extra = json.loads(sys.argv[5]) if len(sys.argv) > 5 else {}
    producer = Producer({
        'bootstrap.servers': bootstrap,
        'acks': 'all',
        'compression.codec': codec,
        'linger.ms': 5,
        'batch.num.messages': 10,
        'message.timeout.ms': 60000,
        **extra,
    })
    delivered, errors = [], []

    def on_delivery(err, msg):
        if err is None:
            value = msg.value()
            delivered.append([msg.offset(), msg.key().decode('utf-8'), None if value is None else value.decode('utf-8')])
        else:
            errors.append(error_text(err))

    for key, value in records:
        producer.produce(topic, key=key.encode('utf-8'), value=None if value is None else value.encode('utf-8'),
                         partition=0, on_delivery=on_delivery)
        producer.poll(0)
    undelivered = producer.flush(60)
    emit({'type': 'delivered', 'records': delivered})
    emit({'type': 'done', 'delivered': len(delivered), 'failed': len(errors), 'undelivered': undelivered, 'errors': errors[:5]})


if __name__ == '__main__':
    main()
