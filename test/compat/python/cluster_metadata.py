"""Prints what confluent-kafka's AdminClient says about the cluster, as one JSON line.

usage: cluster_metadata.py <bootstrap> [topic]

The brokers (ids), the controller id, and for the topic (or every topic) each partition's
leader, replicas and ISR, from AdminClient.list_topics against the one broker given.
"""

import sys

from confluent_kafka.admin import AdminClient

from spate_compat import emit


def main():
    bootstrap = sys.argv[1]
    topic = sys.argv[2] if len(sys.argv) > 2 else None
    admin = AdminClient({'bootstrap.servers': bootstrap})
    metadata = admin.list_topics(topic=topic, timeout=15)
    topics = {}
    for name, described in metadata.topics.items():
        if described.error is not None:
            topics[name] = {'error': described.error.name()}
            continue
        topics[name] = {
            str(index): {'leader': partition.leader, 'replicas': list(partition.replicas), 'isr': sorted(partition.isrs)}
            for index, partition in described.partitions.items()
        }
    emit({
        'originating_broker': metadata.orig_broker_id,
        'controller': metadata.controller_id,
        'brokers': sorted(metadata.brokers.keys()),
        'topics': topics,
    })


if __name__ == '__main__':
    main()
