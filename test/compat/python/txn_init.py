"""Initialises a transactional producer with confluent_kafka (librdkafka's init_transactions).

usage: txn_init.py BOOTSTRAP TRANSACTIONAL_ID

Prints {"type":"initialised","error":null|"..."}.
"""

import sys

from confluent_kafka import Producer

from spate_compat import emit, error_text


def main():
    bootstrap, transactional_id = sys.argv[1], sys.argv[2]
    producer = Producer({'bootstrap.servers': bootstrap, 'transactional.id': transactional_id})
    try:
        producer.init_transactions(30)
        emit({'type': 'initialised', 'error': None})
    except Exception as err:  # KafkaException carries the KafkaError as args[0]
        emit({'type': 'initialised', 'error': error_text(err.args[0] if err.args else err)})


if __name__ == '__main__':
    main()
