"""Joins a consumer group (subscribe()), commits the given offsets synchronously as a
member of the group, reads them back with committed(), and closes (leaving the group).

usage: group_commit.py BOOTSTRAP TOPIC GROUP OFFSETS_JSON
  OFFSETS_JSON: {"partition": offset, ...}

Waits until the group has assigned this consumer every partition named in OFFSETS_JSON
(it is meant to be the group's only member), so that the commit carries a real
generation and member id.

Prints
  {"type":"assigned","partitions":[p,...]}
  {"type":"committed","results":[[partition,offset,error|null],...]}   commit()'s answer
  {"type":"read_back","committed":[[partition,offset],...],"error":null|"..."}
  {"type":"error","error":"..."}    (the commit raised, or no assignment within 30 s)
  {"type":"closed"}
"""

import json
import sys
import time

from confluent_kafka import Consumer, KafkaException, TopicPartition

from spate_compat import emit, error_text


def main():
    bootstrap, topic, group, offsets = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    wanted = {int(p): o for p, o in offsets.items()}
    consumer = Consumer({
        'bootstrap.servers': bootstrap,
        'group.id': group,
        'enable.auto.commit': False,
        'auto.offset.reset': 'earliest',
        'session.timeout.ms': 6000,
        'heartbeat.interval.ms': 1000,
    })
    assigned = []

    def on_assign(_consumer, partitions):
        assigned[:] = sorted(p.partition for p in partitions)
        emit({'type': 'assigned', 'partitions': assigned})

    consumer.subscribe([topic], on_assign=on_assign)
    deadline = time.monotonic() + 30
    while not set(wanted) <= set(assigned) and time.monotonic() < deadline:
        consumer.poll(0.1)
    if not set(wanted) <= set(assigned):
        emit({'type': 'error', 'error': 'not assigned %s within 30 s (have %s)' % (sorted(wanted), assigned)})
    else:
        try:
            results = consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in sorted(wanted.items())], asynchronous=False)
            emit({'type': 'committed', 'results': sorted([tp.partition, tp.offset, error_text(tp.error)] for tp in results)})
        except KafkaException as exc:
            emit({'type': 'error', 'error': error_text(exc.args[0] if exc.args else exc)})
        try:
            read = consumer.committed([TopicPartition(topic, p) for p in sorted(wanted)], timeout=15)
            emit({'type': 'read_back', 'committed': sorted([tp.partition, tp.offset] for tp in read), 'error': None})
        except KafkaException as exc:
            emit({'type': 'read_back', 'committed': [], 'error': error_text(exc.args[0] if exc.args else exc)})
    consumer.close()
    emit({'type': 'closed'})


if __name__ == '__main__':
    main()
