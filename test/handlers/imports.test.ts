// The layering the partition layer exists for: handlers read and write logs through it
// (src/partition/), never by importing the metadata store, the shards, the segment
// readers or the storage code themselves. Read from the source, so a new import fails here.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';

const HANDLERS = new URL('../../../src/handlers/', import.meta.url).pathname;
const FORBIDDEN = [/\/controller\/metadata-store\.js'/, /\/shard\//, /\/storage\//];

t.test('no handler imports the metadata store, the shards or storage', async (t) => {
  const files = readdirSync(HANDLERS).filter((name) => name.endsWith('.ts'));
  t.ok(files.length > 20, `read ${files.length} handler files`);
  const offending: string[] = [];
  for (const name of files) {
    const imports = readFileSync(join(HANDLERS, name), 'utf8')
      .split('\n')
      .filter((line) => /^\s*(import|export)\b.*\bfrom\s+'/.test(line) || /^\s*\}\s*from\s+'/.test(line));
    for (const line of imports) if (FORBIDDEN.some((pattern) => pattern.test(line))) offending.push(`${name}: ${line.trim()}`);
  }
  t.same(offending, [], 'handlers reach logs only through src/partition/');
});
