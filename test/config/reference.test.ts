// The configuration reference (docs/configuration.md) and the example config/server.properties
// are what scripts/config-reference.ts generates from the definitions, so they cannot drift;
// every environment variable and every key the code reads is in the definitions; and a broker
// starts from the example file, as shipped and with every line uncommented, with the defaults.

import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { buildBrokerConfig, parseProperties } from '../../src/config/broker-config.js';
import { brokerConfigDefinitions, environmentVariables } from '../../src/config/definitions.js';
import { examplePropertiesPath, generatedFiles } from '../../scripts/config-reference.js';
import { brokerMain, freePort, plainNode, projectRoot, temporaryDirectory } from '../helpers/broker-process.js';

const START_TIMEOUT_MS = 30_000;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The example file with every `#key=value` line made active (keys that are unset by default stay commented). */
function uncommented(text: string): string {
  return text.replace(/^#([a-z][a-z0-9._-]*)=(.+)$/gm, '$1=$2');
}

t.test('docs/configuration.md and config/server.properties are what the definitions generate', async (t) => {
  for (const file of generatedFiles()) {
    let checkedIn = '';
    try {
      checkedIn = readFileSync(file.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    t.equal(checkedIn, file.text, `${file.path} is up to date (if not: npm run docs:config)`);
  }
});

t.test('every environment variable read under src/ is documented, and every documented one is read', async (t) => {
  const read = new Set<string>();
  for (const file of sourceFiles(join(projectRoot, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/process\.env(?:\[['"]([A-Z0-9_]+)['"]\]|\.([A-Z0-9_]+))/g)) read.add(match[1] ?? match[2]!);
  }
  const documented = new Set(environmentVariables.map((variable) => variable.name));
  t.same([...read].filter((name) => !documented.has(name)).sort(), [], 'read but not in environmentVariables (src/config/definitions.ts)');
  t.same([...documented].filter((name) => !read.has(name)).sort(), [], 'in environmentVariables but read nowhere');
  t.ok(read.has('SPATE_LOG_LEVEL'), 'the scan finds SPATE_LOG_LEVEL');
});

t.test('every key broker-config.ts reads by name is a defined broker key', async (t) => {
  const text = readFileSync(join(projectRoot, 'src', 'config', 'broker-config.ts'), 'utf8');
  const keys = new Set<string>();
  for (const match of text.matchAll(/\b(?:get(?:<[^>]*>)?|explicitKeys\.has)\('([a-z][a-z0-9._-]*)'\)/g)) keys.add(match[1]!);
  t.ok(keys.size >= 30, `the scan finds the keys read (${keys.size})`);
  t.same([...keys].filter((key) => !brokerConfigDefinitions.has(key)).sort(), [], 'keys read but not defined');
});

t.test('the example file, every line uncommented, gives the defaults', async (t) => {
  const text = readFileSync(examplePropertiesPath, 'utf8');
  const properties = parseProperties(uncommented(text));
  // Keys unset or empty by default stay commented: "key=" would set them (log.dirs= names no directory).
  const withoutValue = [...brokerConfigDefinitions.values()].filter((definition) => definition.defaultValue === null || definition.defaultValue === '');
  t.same(
    [...brokerConfigDefinitions.keys()].filter((key) => !properties.has(key) && !withoutValue.some((definition) => definition.name === key)),
    [],
    'every key with a default has a line',
  );
  for (const definition of withoutValue) t.match(text, new RegExp(`^#${definition.name.replace(/\./g, '\\.')}=$`, 'm'), `${definition.name} is listed`);
  const fromFile = buildBrokerConfig(properties, new Map(), projectRoot);
  const fromNothing = buildBrokerConfig(new Map(), new Map(), projectRoot);
  t.same(fromFile.warnings, [], 'no key is unknown');
  const { explicitKeys: _fileKeys, ...fileConfig } = fromFile.config;
  const { explicitKeys: _noKeys, ...defaultConfig } = fromNothing.config;
  t.same(fileConfig, defaultConfig, 'the same configuration as no file at all');
});

/** Starts a broker from `file` on a free port and a temporary log dir; resolves with its log once ready, then stops it. */
async function startFrom(t: Test, file: string): Promise<string> {
  const port = await freePort();
  const dataDir = temporaryDirectory(t, 'spate-example-config-');
  const [command, args] = plainNode([brokerMain, file, '--override', `listeners=PLAINTEXT://127.0.0.1:${port}`, '--override', `log.dirs=${dataDir}`, '--override', 'num.shards=1', '--override', 'http.listeners=']);
  const child = spawn(command, args, { cwd: projectRoot, env: { ...process.env, SPATE_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready within ${START_TIMEOUT_MS} ms:\n${output}`)), START_TIMEOUT_MS);
    const onData = (data: Buffer): void => {
      output += data.toString();
      if (!output.includes('broker ready on')) return;
      clearTimeout(timer);
      resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the broker exited with ${code} before it was ready:\n${output}`));
    });
  });
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'exits 0 after SIGTERM');
  return output;
}

t.test('a broker starts from config/server.properties', async (t) => {
  const asShipped = await startFrom(t, examplePropertiesPath);
  t.match(asShipped, /broker ready on PLAINTEXT:\/\/127\.0\.0\.1:\d+/);
  t.notMatch(asShipped, / WARN /, 'no warnings');

  const allSet = join(temporaryDirectory(t, 'spate-example-uncommented-'), 'server.properties');
  writeFileSync(allSet, uncommented(readFileSync(examplePropertiesPath, 'utf8')));
  const uncommentedLog = await startFrom(t, allSet);
  t.match(uncommentedLog, /broker ready on PLAINTEXT:\/\/127\.0\.0\.1:\d+/, 'with every key set to its default, too');
  t.notMatch(uncommentedLog, / WARN /, 'no warnings');
});
