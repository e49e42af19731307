"""Shared helpers for the confluent-kafka compatibility scripts.

Every script writes machine-readable progress to stdout, one JSON object per line,
flushed as soon as it is written, so that the TypeScript test driving the script sees
each line as it happens (also when it kills the script). Diagnostics from librdkafka
go to stderr. The scripts check nothing themselves: the TypeScript tests do.
"""

import json
import sys
import time


def emit(obj):
    """Writes one JSON line to stdout and flushes it at once."""
    sys.stdout.write(json.dumps(obj, separators=(',', ':'), ensure_ascii=False) + '\n')
    sys.stdout.flush()


def error_text(err):
    """A KafkaError (or any exception) as a short string for the JSON output."""
    if err is None:
        return None
    try:
        return '%s: %s' % (err.name(), err.str())
    except AttributeError:
        return str(err)


def keyed_value(key_index, seq):
    """The value produce_keyed.py sends for the seq-th message of key `key_index`.

    Mirrors keyedValue() in test/compat/confluent-codecs.test.ts: the key and the per-key
    sequence number, then filler of varying length that compresses well, and one non-ASCII
    character so that a UTF-8 round trip is checked too.
    """
    filler = ('spate-%04d ' % key_index) * 8
    return 'key-%04d|%06d|%s\u2713' % (key_index, seq, filler[:(seq * 7 + key_index) % 80])


def stream_value(index, size=0):
    """The value produce_stream.py sends for message `index`: "m-<index>", and when `size`
    is bigger than that, "|" and dots up to `size` bytes. Mirrors streamValue() in the
    tests."""
    head = 'm-%d' % index
    if size <= len(head):
        return head
    return head + '|' + '.' * (size - len(head) - 1)


def admin_error(exc):
    """An AdminClient failure as JSON: Kafka's error code, name and message when there is one."""
    from confluent_kafka import KafkaException
    if isinstance(exc, KafkaException):
        err = exc.args[0]
        return {'code': err.code(), 'name': err.name(), 'message': err.str()}
    return {'code': None, 'name': type(exc).__name__, 'message': str(exc)}


def admin_result(future):
    """An AdminClient future's (result, None), or (None, error) for the test to assert on."""
    try:
        return future.result(timeout=15), None
    except Exception as exc:  # noqa: BLE001 - reported to the test, which asserts on it
        return None, admin_error(exc)


def read_to_high_watermarks(consumer, topic, partitions, idle_timeout, record):
    """Reads partitions 0..PARTITIONS-1 of TOPIC from offset 0 up to the high watermarks taken
    first, with assign() (no group protocol) and no commits. Emits a "watermarks" line, a
    "records" line per consume() batch (each record as `record(msg)` makes it) and an "error"
    line per consumer error; stops early when nothing new came for IDLE_TIMEOUT seconds.
    Returns (count, complete, positions)."""
    from confluent_kafka import TopicPartition
    watermarks = []
    for partition in range(partitions):
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=15, cached=False)
        watermarks.append([partition, low, high])
    emit({'type': 'watermarks', 'partitions': watermarks})
    high = {p: h for p, _, h in watermarks}
    position = {p: 0 for p in range(partitions)}
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    count = 0
    last_progress = time.monotonic()
    while any(position[p] < high[p] for p in range(partitions)):
        if time.monotonic() - last_progress > idle_timeout:
            break
        records = []
        for msg in consumer.consume(num_messages=10000, timeout=0.5):
            if msg.error() is not None:
                emit({'type': 'error', 'error': error_text(msg.error())})
                continue
            records.append(record(msg))
            position[msg.partition()] = max(position[msg.partition()], msg.offset() + 1)
        if records:
            count += len(records)
            last_progress = time.monotonic()
            emit({'type': 'records', 'records': records})
    complete = all(position[p] >= high[p] for p in range(partitions))
    return count, complete, [[p, position[p]] for p in range(partitions)]
