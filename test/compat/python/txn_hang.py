"""Opens a transaction with confluent_kafka, writes one record in it, and never ends it (the test
kills this process: a producer that dies inside its transaction).

usage: txn_hang.py BOOTSTRAP TOPIC TRANSACTIONAL_ID TRANSACTION_TIMEOUT_MS

Prints {"type":"open","partition":p,"offset":o} once the record is written, then waits.
"""

import sys
import time

from confluent_kafka import Producer

from spate_compat import emit


def main():
    bootstrap, topic, transactional_id, timeout_ms = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    producer = Producer({'bootstrap.servers': bootstrap, 'transactional.id': transactional_id, 'transaction.timeout.ms': timeout_ms})
    producer.init_transactions(30)
    producer.begin_transaction()
    delivered = {}

    def on_delivery(err, msg):
        if err is None:
            delivered['partition'], delivered['offset'] = msg.partition(), msg.offset()

    producer.produce(topic, value=b'in-the-dead-transaction', partition=0, on_delivery=on_delivery)
    producer.flush(30)
    emit({'type': 'open', 'partition': delivered.get('partition'), 'offset': delivered.get('offset')})
    while True:
        time.sleep(60)


if __name__ == '__main__':
    main()
