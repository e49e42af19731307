"""Reads every partition of a topic from offset 0 up to its high watermark.

usage: consume_all.py BOOTSTRAP TOPIC PARTITIONS [IDLE_TIMEOUT_SECONDS]

Uses assign() with explicit partitions at offset 0 (no subscribe(): no consumer group
protocol is involved) and never commits (enable.auto.commit=false).

Prints
  {"type":"watermarks","partitions":[[partition,low,high],...]}    (taken before reading)
  {"type":"records","records":[[partition,offset,key|null,value],...]}   (per consume() batch)
  {"type":"error","error":"..."}                                    (consumer errors)
  {"type":"done","count":n,"complete":true|false,"positions":[[partition,next],...],"seconds":s}
"complete" is false when the consumer saw no new message for IDLE_TIMEOUT_SECONDS
before every partition reached its high watermark.
Keys and values are decoded as UTF-8 (undecodable bytes become U+FFFD).
"""

import sys
import time

from confluent_kafka import Consumer, KafkaError, TopicPartition

from spate_compat import emit, error_text


def text(data):
    return None if data is None else data.decode('utf-8', errors='replace')


def main():
    bootstrap, topic, partitions = sys.argv[1], sys.argv[2], int(sys.argv[3])
    idle_timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 20.0
    consumer = Consumer({
        'bootstrap.servers': bootstrap,
        # librdkafka's consumer wants a group.id, but with assign() and no commits the
        # group coordinator is never used.
        'group.id': 'spate-compat-assign-only',
        'enable.auto.commit': False,
        'enable.auto.offset.store': False,
        'enable.partition.eof': False,
        'auto.offset.reset': 'error',
    })
    started = time.monotonic()
    watermarks = []
    for partition in range(partitions):
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=15, cached=False)
        watermarks.append([partition, low, high])
    emit({'type': 'watermarks', 'partitions': watermarks})

    high = {p: h for p, _, h in watermarks}
    position = {p: 0 for p in range(partitions)}
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    count = 0
    last_progress = time.monotonic()
    while any(position[p] < high[p] for p in range(partitions)):
        if time.monotonic() - last_progress > idle_timeout:
            break
        batch = consumer.consume(num_messages=10000, timeout=0.5)
        records = []
        for msg in batch:
            if msg.error() is not None:
                emit({'type': 'error', 'error': error_text(msg.error())})
                continue
            records.append([msg.partition(), msg.offset(), text(msg.key()), text(msg.value())])
            position[msg.partition()] = max(position[msg.partition()], msg.offset() + 1)
        if records:
            count += len(records)
            last_progress = time.monotonic()
            emit({'type': 'records', 'records': records})
    complete = all(position[p] >= high[p] for p in range(partitions))
    consumer.close()
    emit({'type': 'done', 'count': count, 'complete': complete,
          'positions': [[p, position[p]] for p in range(partitions)],
          'seconds': round(time.monotonic() - started, 3)})


if __name__ == '__main__':
    main()
