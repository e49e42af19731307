"""Reads partitions of a topic from offset 0 up to their high watermarks as a consumer in a rack.

usage: consume_rack.py BOOTSTRAP TOPIC PARTITIONS CLIENT_RACK [IDLE_TIMEOUT_SECONDS]

Like consume_all.py (assign() at offset 0, no group protocol, no commits), with librdkafka's
`client.rack` set, so its Fetch requests (v11+) carry the rack (KIP-392), and with
librdkafka's fetch debugging on: each line librdkafka logs about a Fetch it sends names the
broker it goes to ("host:port/ID"), which tells which broker served the reads.

Prints
  {"type":"watermarks","partitions":[[partition,low,high],...]}
  {"type":"records","records":[[partition,offset,value],...]}       (per consume() batch)
  {"type":"error","error":"..."}                                    (consumer errors)
  {"type":"done","count":n,"complete":true|false,"fetches":{"<broker id>":n,...},
   "preferred":["<log line>",...],"seconds":s}
"fetches" counts, per broker id, librdkafka's "Fetch" request lines for TOPIC;
"preferred" holds its log lines about a preferred (read) replica.
"""

import logging
import re
import sys
import time

from confluent_kafka import Consumer

from spate_compat import emit, read_to_high_watermarks


class Collect(logging.Handler):
    """Keeps librdkafka's log lines (they come through the `logger` config)."""

    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def main():
    bootstrap, topic, partitions, rack = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    idle_timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 20.0
    collect = Collect()
    log = logging.getLogger('rdkafka')
    log.setLevel(logging.DEBUG)
    log.addHandler(collect)
    consumer = Consumer({
        'bootstrap.servers': bootstrap,
        'group.id': 'spate-compat-rack',
        'client.rack': rack,
        'enable.auto.commit': False,
        'enable.auto.offset.store': False,
        'enable.partition.eof': False,
        'auto.offset.reset': 'error',
        'debug': 'fetch',
        # Small fetches, so there are many of them to count.
        'max.partition.fetch.bytes': 1024,
    }, logger=log)
    started = time.monotonic()
    count, complete, _ = read_to_high_watermarks(
        consumer, topic, partitions, idle_timeout,
        lambda msg: [msg.partition(), msg.offset(), msg.value().decode('utf-8', errors='replace')])
    consumer.close()
    fetches = {}
    # librdkafka: "<host:port>/<id>: Fetch topic <topic> [<partition>] at offset ..." (one per partition per Fetch it sends).
    fetch_line = re.compile(r'/(\d+): Fetch topic ' + re.escape(topic) + r' ')
    for line in collect.lines:
        match = fetch_line.search(line)
        if match:
            fetches[match.group(1)] = fetches.get(match.group(1), 0) + 1
    preferred = [line for line in collect.lines if 'preferred' in line.lower()]
    emit({'type': 'done', 'count': count, 'complete': complete,
          'fetches': fetches, 'preferred': preferred[:20], 'seconds': round(time.monotonic() - started, 3)})


if __name__ == '__main__':
    main()
