// `spate topics list` and `spate groups list` on a broker with no topics and no groups
// print their table's header (so an operator sees an empty answer, not nothing at all);
// with --json, an empty array.

import t from 'tap';
import { BrokerProcess } from '../helpers/broker-process.js';
import { describe, spate } from './fixtures/spate.js';

t.test('list commands on an empty broker print the header', async (t) => {
  const broker = await BrokerProcess.start(t);
  const b = broker.bootstrap;
  const [topics, topicsJson, groups, groupsJson] = await Promise.all([
    spate(b, ['topics', 'list']),
    spate(b, ['topics', 'list', '--json']),
    spate(b, ['groups', 'list']),
    spate(b, ['groups', 'list', '--json']),
  ]);
  t.equal(topics.code, 0, describe(topics));
  t.equal(topics.out, 'TOPIC  PARTITIONS\n', 'topics list: the header alone');
  t.same(JSON.parse(topicsJson.out), [], 'topics list --json: an empty array');
  t.equal(groups.code, 0, describe(groups));
  t.equal(groups.out, 'GROUP  STATE  PROTOCOL-TYPE\n', 'groups list: the header alone');
  t.same(JSON.parse(groupsJson.out), [], 'groups list --json: an empty array');
});
