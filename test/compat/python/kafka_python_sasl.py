"""kafka-python (Debian's python3-kafka, 2.0.2) on a SASL listener: produces COUNT values to
TOPIC, then reads them back in a consumer group (committing its offsets).

usage: kafka_python_sasl.py TOPIC COUNT CONFIG_JSON

CONFIG_JSON holds the kafka-python settings both clients get (bootstrap_servers,
security_protocol, sasl_mechanism, sasl_plain_username, sasl_plain_password, ...); an
api_version given as a list is made a tuple, as kafka-python wants it.

Prints {"type":"produced","offsets":[...],"api_version":[...]} once every value is
acknowledged, {"type":"consumed","values":[...]} once COUNT values came back (or after
20 s without them), and {"type":"error","name":...,"message":...} instead of either when
a client raises (a failed login surfaces this way). Exits 0 either way: the test decides.
"""

import json
import logging
import sys

from kafka import KafkaConsumer, KafkaProducer

from spate_compat import emit


def main():
    topic, count = sys.argv[1], int(sys.argv[2])
    config = json.loads(sys.argv[3])
    if isinstance(config.get('api_version'), list):
        config['api_version'] = tuple(config['api_version'])
    # kafka-python's own log (its SASL steps, a server closing the connection) goes to stderr for the test's messages.
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    try:
        # max_block_ms: a producer that cannot fetch metadata (a failed login) gives up within the test's patience.
        producer = KafkaProducer(acks='all', max_block_ms=10000, **config)
        futures = [producer.send(topic, ('m-%d' % index).encode('utf-8')) for index in range(count)]
        offsets = [future.get(timeout=30).offset for future in futures]
        emit({'type': 'produced', 'offsets': offsets, 'api_version': list(producer.config['api_version'])})
        producer.close(timeout=10)
        consumer = KafkaConsumer(topic, group_id=topic + '-group', auto_offset_reset='earliest',
                                 enable_auto_commit=False, consumer_timeout_ms=20000, **config)
        values = []
        for message in consumer:
            values.append(message.value.decode('utf-8'))
            if len(values) == count:
                break
        consumer.commit()
        consumer.close()
        emit({'type': 'consumed', 'values': values})
    except Exception as exc:  # noqa: BLE001 - reported to the test, which asserts on it
        emit({'type': 'error', 'name': type(exc).__name__, 'message': str(exc)})


if __name__ == '__main__':
    main()
