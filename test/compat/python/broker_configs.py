"""Alters and describes broker configs with confluent-kafka's AdminClient (AlterConfigs and
DescribeConfigs on resource type BROKER), one step per JSON object given on argv.

usage: broker_configs.py BOOTSTRAP STEPS_JSON

STEPS_JSON is a list of steps, each one of
  {"op":"alter","broker":"0","config":{...},"validate_only":bool}   (broker "" is the cluster default)
  {"op":"describe","broker":"0"}
Prints one JSON line per step: {"op":..., "error": null | {"code":n,"name":"...","message":"..."}, ...}
A describe line holds "configs": {name: {"value","source","read_only","synonym_names"}}.
"""

import json
import sys

from confluent_kafka.admin import AdminClient, ConfigResource

from spate_compat import admin_result as result, emit


def main():
    admin = AdminClient({'bootstrap.servers': sys.argv[1]})
    for step in json.loads(sys.argv[2]):
        op = step['op']
        out = {'op': op, 'error': None}
        if op == 'alter':
            resource = ConfigResource(ConfigResource.Type.BROKER, step['broker'], set_config=step['config'])
            futures = admin.alter_configs([resource], validate_only=step.get('validate_only', False))
            _, out['error'] = result(futures[resource])
        elif op == 'describe':
            resource = ConfigResource(ConfigResource.Type.BROKER, step['broker'])
            configs, out['error'] = result(admin.describe_configs([resource])[resource])
            if configs is not None:
                out['configs'] = {
                    name: {
                        'value': entry.value,
                        'source': int(entry.source),
                        'read_only': entry.is_read_only,
                        # librdkafka hands synonyms over keyed by name, so levels of one key collapse:
                        # the tests read synonyms through kafkajs and the raw protocol instead.
                        'synonym_names': sorted(entry.synonyms),
                    }
                    for name, entry in configs.items()
                }
        emit(out)


if __name__ == '__main__':
    main()
