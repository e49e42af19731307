"""Streams messages with unique values ("m-<i>", see spate_compat.stream_value) to a
topic, paced, and reports progress and delivery reports as they arrive.

usage: produce_stream.py BOOTSTRAP TOPIC COUNT [options]
  --acks all|1|0            (default all)
  --idempotence             enable.idempotence=true (default false)
  --chunk N --pause-ms MS   produce N messages, then serve callbacks for MS ms (pacing)
  --value-size BYTES        pad values to this size
  --report-deliveries       print every successful delivery report
  --message-timeout-ms MS   (default 120000)
  --queue-max N             queue.buffering.max.messages (default 500000); a small
                            queue and no pause keep the producer always backlogged

Prints, one JSON object per line, flushed at once:
  {"type":"progress","produced":n,"delivered":n,"failed":n,"seconds":s}   every ~100 ms
  {"type":"delivered","produced":n,"delivered":n,"records":[[partition,offset,index],...]}
      with --report-deliveries, batched per poll; "produced" and "delivered" are the
      totals so far (this batch included)
  {"type":"failed","records":[[index,"error"],...]}               failed delivery reports
  {"type":"client_error","error":"...","fatal":bool}              librdkafka error_cb
  {"type":"done","produced":n,"delivered":n,"failed":n,"undelivered":n,"fatal":str|null,"seconds":s}
"""

import argparse
import time

from confluent_kafka import KafkaException, Producer

from spate_compat import emit, error_text, stream_value


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('bootstrap')
    parser.add_argument('topic')
    parser.add_argument('count', type=int)
    parser.add_argument('--acks', default='all')
    parser.add_argument('--idempotence', action='store_true')
    parser.add_argument('--chunk', type=int, default=1000)
    parser.add_argument('--pause-ms', type=float, default=0)
    parser.add_argument('--value-size', type=int, default=0)
    parser.add_argument('--report-deliveries', action='store_true')
    parser.add_argument('--message-timeout-ms', type=int, default=120000)
    parser.add_argument('--queue-max', type=int, default=500000)
    args = parser.parse_args()

    delivered, failed = [], []
    totals = {'produced': 0, 'delivered': 0, 'failed': 0}
    fatal = []

    def on_error(err):
        fatal_error = err.fatal() if hasattr(err, 'fatal') else False
        if fatal_error:
            fatal.append(error_text(err))
        emit({'type': 'client_error', 'error': error_text(err), 'fatal': fatal_error})

    config = {
        'bootstrap.servers': args.bootstrap,
        'acks': args.acks,
        'enable.idempotence': args.idempotence,
        'linger.ms': 5,
        'message.timeout.ms': args.message_timeout_ms,
        'queue.buffering.max.messages': args.queue_max,
        'error_cb': on_error,
    }
    producer = Producer(config)

    def on_delivery(err, msg):
        index = int(msg.value().split(b'|', 1)[0][2:])
        if err is None:
            delivered.append([msg.partition(), msg.offset(), index])
        else:
            failed.append([index, error_text(err)])

    started = time.monotonic()
    last_progress = [0.0]

    def report(force_progress=False):
        if delivered:
            totals['delivered'] += len(delivered)
            if args.report_deliveries:
                emit({'type': 'delivered', 'produced': totals['produced'], 'delivered': totals['delivered'],
                      'records': delivered})
            delivered.clear()
        if failed:
            totals['failed'] += len(failed)
            emit({'type': 'failed', 'records': failed})
            failed.clear()
        now = time.monotonic()
        if force_progress or now - last_progress[0] >= 0.1:
            last_progress[0] = now
            emit({'type': 'progress', 'produced': totals['produced'], 'delivered': totals['delivered'],
                  'failed': totals['failed'], 'seconds': round(now - started, 3)})

    index = 0
    while index < args.count and not fatal:
        end = min(args.count, index + args.chunk)
        while index < end:
            try:
                producer.produce(args.topic, value=stream_value(index, args.value_size).encode('ascii'), on_delivery=on_delivery)
                index += 1
                totals['produced'] = index
            except BufferError:
                producer.poll(0.05)
                report()
            except KafkaException as exc:  # fatal idempotence error: stop producing
                fatal.append(error_text(exc.args[0] if exc.args else exc))
                break
        pause_until = time.monotonic() + args.pause_ms / 1000.0
        while True:
            producer.poll(max(0.0, min(0.05, pause_until - time.monotonic())))
            report()
            if time.monotonic() >= pause_until:
                break

    # Drain: serve delivery reports until everything is delivered or failed.
    deadline = time.monotonic() + args.message_timeout_ms / 1000.0 + 30
    while len(producer) > 0 and time.monotonic() < deadline:
        producer.poll(0.1)
        report()
    undelivered = producer.flush(0)
    report(force_progress=True)
    emit({'type': 'done', 'produced': totals['produced'], 'delivered': totals['delivered'], 'failed': totals['failed'],
          'undelivered': undelivered, 'fatal': fatal[0] if fatal else None,
          'seconds': round(time.monotonic() - started, 3)})


if __name__ == '__main__':
    main()
