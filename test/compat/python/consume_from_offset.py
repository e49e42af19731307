"""Reads one partition from a given offset, letting librdkafka apply auto.offset.reset.

usage: consume_from_offset.py BOOTSTRAP TOPIC PARTITION OFFSET COUNT

Uses assign() at OFFSET with auto.offset.reset=earliest and never commits, so an offset
below the log start offset is answered OFFSET_OUT_OF_RANGE by the broker and the
consumer resumes at the log start offset, as Kafka consumers do.

Prints
  {"type":"first","offset":n}                 (the first record received)
  {"type":"done","count":n,"last":n,"seconds":s}
  {"type":"error","error":"..."}
"""

import sys
import time

from confluent_kafka import Consumer, TopicPartition

from spate_compat import emit, error_text


def main():
    bootstrap, topic = sys.argv[1], sys.argv[2]
    partition, offset, count = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    consumer = Consumer({
        'bootstrap.servers': bootstrap,
        'group.id': 'spate-compat-assign-only',
        'enable.auto.commit': False,
        'enable.auto.offset.store': False,
        'auto.offset.reset': 'earliest',
    })
    started = time.monotonic()
    consumer.assign([TopicPartition(topic, partition, offset)])
    received = 0
    last = -1
    while received < count and time.monotonic() - started < 60:
        for msg in consumer.consume(num_messages=10000, timeout=0.5):
            if msg.error():
                emit({'type': 'error', 'error': error_text(msg.error())})
                continue
            if received == 0:
                emit({'type': 'first', 'offset': msg.offset()})
            received += 1
            last = msg.offset()
    consumer.close()
    emit({'type': 'done', 'count': received, 'last': last, 'seconds': round(time.monotonic() - started, 3)})


if __name__ == '__main__':
    main()
