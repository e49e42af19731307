"""Shared helpers for the confluent-kafka compatibility scripts.

Every script writes machine-readable progress to stdout, one JSON object per line,
flushed as soon as it is written, so that the TypeScript test driving the script sees
each line as it happens (also when it kills the script). Diagnostics from librdkafka
go to stderr. The scripts check nothing themselves: the TypeScript tests do.
"""

import json
import sys


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
