"""Produces a numbered stream ("m-<i>", see spate_compat.stream_value) to one topic at a
steady rate until it gets SIGTERM, then waits for every outstanding delivery report and
exits. Meant to run while brokers fail: it reports each delivery, good or bad.

usage: produce_until_stopped.py BOOTSTRAP TOPIC [options]
  --rate N                  messages per second (default 200)
  --acks all|1|0            (default all)
  --idempotence             enable.idempotence=true (default false)
  --message-timeout-ms MS   (default 120000)
  --value-size BYTES        pad values to this size (spate_compat.stream_value); the reports
                            name the value by its head, "m-<i>"

Prints, one JSON object per line, flushed at once:
  {"type":"delivery","value":"m-7","index":7,"partition":p,"offset":o,"error":null|"NAME: text"}
      one per delivery report (offset is -1 when the delivery failed)
  {"type":"client_error","error":"...","fatal":bool}              librdkafka error_cb
  {"type":"done","produced":n,"delivered":n,"failed":n,"undelivered":n,"fatal":str|null}
"""

import argparse
import signal
import time

from confluent_kafka import KafkaException, Producer

from spate_compat import emit, error_text, stream_value


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('bootstrap')
    parser.add_argument('topic')
    parser.add_argument('--rate', type=float, default=200)
    parser.add_argument('--acks', default='all')
    parser.add_argument('--idempotence', action='store_true')
    parser.add_argument('--message-timeout-ms', type=int, default=120000)
    parser.add_argument('--value-size', type=int, default=0)
    args = parser.parse_args()

    stopping = []
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stopping.append(True))
    totals = {'produced': 0, 'delivered': 0, 'failed': 0}
    fatal = []

    def on_error(err):
        fatal_error = err.fatal() if hasattr(err, 'fatal') else False
        if fatal_error:
            fatal.append(error_text(err))
        emit({'type': 'client_error', 'error': error_text(err), 'fatal': fatal_error})

    producer = Producer({
        'bootstrap.servers': args.bootstrap,
        'acks': args.acks,
        'enable.idempotence': args.idempotence,
        'linger.ms': 5,
        'message.timeout.ms': args.message_timeout_ms,
        'error_cb': on_error,
    })

    def on_delivery(err, msg):
        value = msg.value().decode('ascii').split('|')[0]
        if err is None:
            totals['delivered'] += 1
        else:
            totals['failed'] += 1
        emit({'type': 'delivery', 'value': value, 'index': int(value[2:]), 'partition': msg.partition(),
              'offset': msg.offset() if err is None else -1, 'error': error_text(err)})

    started = time.monotonic()
    index = 0
    while not stopping and not fatal:
        # Produce whatever the rate allows by now, then serve callbacks until the next one is due.
        due = int((time.monotonic() - started) * args.rate) + 1
        while index < due and not stopping:
            try:
                producer.produce(args.topic, value=stream_value(index, args.value_size).encode('ascii'), on_delivery=on_delivery)
                index += 1
                totals['produced'] = index
            except BufferError:
                producer.poll(0.05)
            except KafkaException as exc:  # fatal idempotence error: stop producing
                fatal.append(error_text(exc.args[0] if exc.args else exc))
                break
        producer.poll(max(0.0, min(0.05, started + (index + 1) / args.rate - time.monotonic())))

    # Drain: every produced message gets its delivery report (success or failure) before exit.
    deadline = time.monotonic() + args.message_timeout_ms / 1000.0 + 30
    while len(producer) > 0 and time.monotonic() < deadline:
        producer.poll(0.1)
    undelivered = producer.flush(0)
    emit({'type': 'done', 'produced': totals['produced'], 'delivered': totals['delivered'], 'failed': totals['failed'],
          'undelivered': undelivered, 'fatal': fatal[0] if fatal else None})


if __name__ == '__main__':
    main()
