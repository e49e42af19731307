"""Drives confluent-kafka's AdminClient through one scenario given as JSON on argv.

usage: admin_ops.py BOOTSTRAP STEPS_JSON

STEPS_JSON is a list of steps, each one of
  {"op":"create","topic":t,"partitions":n,"replication":r,"config":{...},"validate_only":bool}
  {"op":"describe","topic":t}
  {"op":"describe_broker","broker":"0"}
  {"op":"alter","topic":t,"config":{...}}
  {"op":"add_partitions","topic":t,"total":n,"validate_only":bool}
  {"op":"delete","topic":t}
  {"op":"list"}
Prints one JSON line per step: {"op":..., "error": null | {"code":n,"name":"..."}, ...result}
"""

import json
import sys

from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

from spate_compat import admin_result as result, emit


def main():
    admin = AdminClient({'bootstrap.servers': sys.argv[1]})
    for step in json.loads(sys.argv[2]):
        op = step['op']
        out = {'op': op, 'error': None}
        if op == 'create':
            topic = NewTopic(step['topic'], step.get('partitions', 1), step.get('replication', 1), config=step.get('config', {}))
            _, out['error'] = result(admin.create_topics([topic], validate_only=step.get('validate_only', False))[step['topic']])
        elif op in ('describe', 'describe_broker'):
            kind = ConfigResource.Type.TOPIC if op == 'describe' else ConfigResource.Type.BROKER
            name = step['topic'] if op == 'describe' else step['broker']
            resource = ConfigResource(kind, name)
            configs, out['error'] = result(admin.describe_configs([resource])[resource])
            if configs is not None:
                out['configs'] = {k: {'value': v.value, 'source': int(v.source), 'default': v.is_default} for k, v in configs.items()}
        elif op == 'alter':
            resource = ConfigResource(ConfigResource.Type.TOPIC, step['topic'], set_config=step['config'])
            _, out['error'] = result(admin.alter_configs([resource])[resource])
        elif op == 'add_partitions':
            change = NewPartitions(step['topic'], step['total'])
            _, out['error'] = result(admin.create_partitions([change], validate_only=step.get('validate_only', False))[step['topic']])
        elif op == 'delete':
            _, out['error'] = result(admin.delete_topics([step['topic']])[step['topic']])
        elif op == 'list':
            metadata = admin.list_topics(timeout=15)
            out['topics'] = {name: len(topic.partitions) for name, topic in metadata.topics.items()}
        emit(out)


if __name__ == '__main__':
    main()
