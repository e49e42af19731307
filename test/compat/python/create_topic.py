"""Creates a topic with confluent_kafka's AdminClient, then reads it back from the metadata.

usage: create_topic.py BOOTSTRAP TOPIC PARTITIONS REPLICATION_FACTOR

Prints {"type":"created","topic":...,"error":null|"..."} and then
{"type":"metadata","topic":...,"error":...,"partitions":[{"id":0,"leader":0,"replicas":[0],"isrs":[0]},...]}.
"""

import sys
import time

from confluent_kafka.admin import AdminClient, NewTopic

from spate_compat import emit, error_text


def main():
    bootstrap, topic, partitions, replication = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    admin = AdminClient({'bootstrap.servers': bootstrap})
    futures = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=replication)],
                                  operation_timeout=15, request_timeout=20)
    try:
        futures[topic].result(timeout=30)
        emit({'type': 'created', 'topic': topic, 'error': None})
    except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
        emit({'type': 'created', 'topic': topic, 'error': error_text(exc.args[0] if exc.args else exc)})

    metadata = admin.list_topics(topic=topic, timeout=15)
    described = metadata.topics.get(topic)
    if described is None:
        emit({'type': 'metadata', 'topic': topic, 'error': 'topic missing from metadata', 'partitions': []})
        return
    emit({
        'type': 'metadata',
        'topic': topic,
        'error': error_text(described.error),
        'brokers': sorted(metadata.brokers),
        'partitions': [
            {'id': p.id, 'leader': p.leader, 'replicas': list(p.replicas), 'isrs': list(p.isrs)}
            for p in sorted(described.partitions.values(), key=lambda p: p.id)
        ],
    })


if __name__ == '__main__':
    main()
