"""Produces the unique values "m-<i>" for i in [START, START+COUNT) without keys (so
librdkafka's partitioner spreads them over the partitions), paced, and exits once every
delivery report is in.

usage: group_produce.py BOOTSTRAP TOPIC START COUNT [--chunk N] [--pause-ms MS]

Prints
  {"type":"done","start":s,"count":n,"delivered":n,"failed":n,"errors":[...],"seconds":s,
   "first_delivery":t,"last_delivery":t}   (t: time.time() of the first/last delivery report)
"""

import argparse
import time

from confluent_kafka import Producer

from spate_compat import emit, error_text, stream_value


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('bootstrap')
    parser.add_argument('topic')
    parser.add_argument('start', type=int)
    parser.add_argument('count', type=int)
    parser.add_argument('--chunk', type=int, default=1000)
    parser.add_argument('--pause-ms', type=float, default=0)
    args = parser.parse_args()

    producer = Producer({'bootstrap.servers': args.bootstrap, 'acks': 'all', 'linger.ms': 5, 'message.timeout.ms': 60000})
    state = {'delivered': 0, 'failed': 0, 'errors': [], 'first': None, 'last': None}

    def on_delivery(err, _msg):
        now = time.time()
        if err is None:
            state['delivered'] += 1
            if state['first'] is None:
                state['first'] = now
            state['last'] = now
        else:
            state['failed'] += 1
            if len(state['errors']) < 5:
                state['errors'].append(error_text(err))

    started = time.monotonic()
    end = args.start + args.count
    index = args.start
    while index < end:
        chunk_end = min(end, index + args.chunk)
        while index < chunk_end:
            try:
                producer.produce(args.topic, value=stream_value(index).encode('ascii'), on_delivery=on_delivery)
                index += 1
            except BufferError:
                producer.poll(0.05)
        pause_until = time.monotonic() + args.pause_ms / 1000.0
        producer.poll(0)
        while time.monotonic() < pause_until:
            producer.poll(max(0.0, min(0.05, pause_until - time.monotonic())))
    producer.flush(90)
    emit({'type': 'done', 'start': args.start, 'count': args.count, 'delivered': state['delivered'],
          'failed': state['failed'], 'errors': state['errors'], 'seconds': round(time.monotonic() - started, 3),
          'first_delivery': state['first'], 'last_delivery': state['last']})


if __name__ == '__main__':
    main()
