"""A confluent-kafka consumer in a consumer group (subscribe()), for the group tests.

usage: group_consumer.py BOOTSTRAP TOPIC GROUP NAME [options]
  --session-timeout-ms MS     (default 6000)
  --heartbeat-interval-ms MS  (default 1000)
  --strategy S                partition.assignment.strategy (default: librdkafka's)
  --auto-offset-reset R       (default earliest)
  --commit sync|none          sync: commit(asynchronous=False) after each processed
                              batch (default); none: never commit
  --batch N                   consume(num_messages=N) (default 500)
  --exit-after N              close and exit once N messages were processed
  --group-instance-id ID      a static member (KIP-345) with this group.instance.id
  --eof                       report reaching the end of a partition (enable.partition.eof)

enable.auto.commit is false: offsets are committed only by the synchronous commit after
each batch has been "processed" (printed and flushed), so a message whose offset was
committed was processed before. SIGTERM closes the consumer (leaving the group) and
exits.

Prints, one JSON object per line, flushed at once ("name" in every line, "t" is
time.time()):
  {"type":"assigned","partitions":[p,...]}      on_assign (the whole new assignment)
  {"type":"revoked","partitions":[p,...]}       on_revoke
  {"type":"lost","partitions":[p,...]}          on_lost
  {"type":"records","records":[[partition,offset,value],...]}   one consume() batch
  {"type":"committed","offsets":[[partition,offset],...]}       after a successful commit
  {"type":"commit_error","error":"...","code":n}
  {"type":"error","error":"...","code":n}       a consume() error
  {"type":"eof","partition":p,"offset":o}       with --eof: every record of partition p before
                                                offset o (its end) has been printed
  {"type":"client_error","error":"...","code":n,"fatal":bool}   librdkafka error_cb
  {"type":"closed","processed":n}
"""

import argparse
import signal
import time

from confluent_kafka import Consumer, KafkaError, KafkaException

from spate_compat import emit, error_text


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('bootstrap')
    parser.add_argument('topic')
    parser.add_argument('group')
    parser.add_argument('name')
    parser.add_argument('--session-timeout-ms', type=int, default=6000)
    parser.add_argument('--heartbeat-interval-ms', type=int, default=1000)
    parser.add_argument('--strategy', default=None)
    parser.add_argument('--auto-offset-reset', default='earliest')
    parser.add_argument('--commit', default='sync', choices=['sync', 'none'])
    parser.add_argument('--batch', type=int, default=500)
    parser.add_argument('--exit-after', type=int, default=0)
    parser.add_argument('--group-instance-id', default=None)
    parser.add_argument('--eof', action='store_true')
    args = parser.parse_args()

    name = args.name

    def out(obj):
        obj['name'] = name
        obj['t'] = round(time.time(), 3)
        emit(obj)

    def on_error(err):
        out({'type': 'client_error', 'error': error_text(err), 'code': err.code(),
             'fatal': err.fatal() if hasattr(err, 'fatal') else False})

    config = {
        'bootstrap.servers': args.bootstrap,
        'group.id': args.group,
        'client.id': name,
        'enable.auto.commit': False,
        'auto.offset.reset': args.auto_offset_reset,
        'session.timeout.ms': args.session_timeout_ms,
        'heartbeat.interval.ms': args.heartbeat_interval_ms,
        'enable.partition.eof': args.eof,
        'error_cb': on_error,
    }
    if args.strategy:
        config['partition.assignment.strategy'] = args.strategy
    if args.group_instance_id:
        config['group.instance.id'] = args.group_instance_id
    consumer = Consumer(config)

    def on_assign(_consumer, partitions):
        out({'type': 'assigned', 'partitions': sorted(p.partition for p in partitions)})

    def on_revoke(_consumer, partitions):
        out({'type': 'revoked', 'partitions': sorted(p.partition for p in partitions)})

    def on_lost(_consumer, partitions):
        out({'type': 'lost', 'partitions': sorted(p.partition for p in partitions)})

    def report_eofs(eofs):
        # Printed after the batch's records, so an "eof" line follows every record before it.
        for partition, offset in eofs:
            out({'type': 'eof', 'partition': partition, 'offset': offset})

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))

    consumer.subscribe([args.topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
    processed = 0
    while not stopping:
        batch = consumer.consume(num_messages=args.batch, timeout=0.2)
        records = []
        eofs = []
        for msg in batch:
            if msg.error() is not None:
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    eofs.append([msg.partition(), msg.offset()])
                else:
                    out({'type': 'error', 'error': error_text(msg.error()), 'code': msg.error().code()})
                continue
            value = msg.value()
            records.append([msg.partition(), msg.offset(), None if value is None else value.decode('utf-8', 'replace')])
        if not records:
            report_eofs(eofs)
            continue
        # "Processing" is printing the batch; only then is it committed.
        out({'type': 'records', 'records': records})
        processed += len(records)
        report_eofs(eofs)
        if args.commit == 'sync':
            try:
                committed = consumer.commit(asynchronous=False)
                out({'type': 'committed', 'offsets': sorted([tp.partition, tp.offset] for tp in committed or [])})
            except KafkaException as exc:
                err = exc.args[0] if exc.args else exc
                out({'type': 'commit_error', 'error': error_text(err), 'code': err.code() if hasattr(err, 'code') else None})
        if args.exit_after and processed >= args.exit_after:
            break
    consumer.close()
    out({'type': 'closed', 'processed': processed})


if __name__ == '__main__':
    main()
