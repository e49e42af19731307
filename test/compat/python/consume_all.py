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

from confluent_kafka import Consumer

from spate_compat import emit, read_to_high_watermarks


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
    count, complete, positions = read_to_high_watermarks(
        consumer, topic, partitions, idle_timeout,
        lambda msg: [msg.partition(), msg.offset(), text(msg.key()), text(msg.value())])
    consumer.close()
    emit({'type': 'done', 'count': count, 'complete': complete,
          'positions': positions,
          'seconds': round(time.monotonic() - started, 3)})


if __name__ == '__main__':
    main()
