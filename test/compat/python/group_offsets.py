"""Reads a group's committed offsets (OffsetFetch, without joining the group) and each
partition's watermarks.

usage: group_offsets.py BOOTSTRAP GROUP TOPIC PARTITIONS

Prints {"type":"offsets","committed":[[partition,offset|-1001 when none],...],
        "watermarks":[[partition,low,high],...],"error":null|"..."}
"""

import sys

from confluent_kafka import Consumer, KafkaException, TopicPartition

from spate_compat import emit, error_text


def main():
    bootstrap, group, topic, partitions = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    consumer = Consumer({'bootstrap.servers': bootstrap, 'group.id': group, 'enable.auto.commit': False})
    out = {'type': 'offsets', 'committed': [], 'watermarks': [], 'error': None}
    try:
        committed = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=15)
        out['committed'] = sorted([tp.partition, tp.offset] for tp in committed)
        errors = [error_text(tp.error) for tp in committed if tp.error is not None]
        if errors:
            out['error'] = errors[0]
        for p in range(partitions):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=15, cached=False)
            out['watermarks'].append([p, low, high])
    except KafkaException as exc:
        out['error'] = error_text(exc.args[0] if exc.args else exc)
    consumer.close()
    emit(out)


if __name__ == '__main__':
    main()
