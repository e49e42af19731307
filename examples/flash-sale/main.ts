// One command for the whole flash sale: `npm run example:flash-sale` (or
// `node dist/examples/flash-sale/main.js [--stock 100] [--items flash-item,other] [--port 3000]
// [--kafka-port 9092] [--http-port 8080] [--data-dir DIR]`).
//
// It starts an embedded Spate broker as a child process (Kafka on --kafka-port, HTTP with the
// WebSocket endpoint /ws on --http-port), creates `orders` and `order-results`, starts the
// processor as a child process (the streams app: its own process, as it would be deployed), and
// serves the order page from this process. Ctrl-C stops all three. The broker's data goes to
// --data-dir, or to a temporary folder removed on exit.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startEmbeddedBroker, startProcessorProcess, type ChildRun } from './child-processes.js';
import { INITIAL_STOCK_DEFAULT } from './model.js';
import { startOrderServer, type OrderServer } from './order-server.js';
import { createFlashSaleTopics } from './topics.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      stock: { type: 'string', default: String(INITIAL_STOCK_DEFAULT) },
      items: { type: 'string', default: 'flash-item' },
      port: { type: 'string', default: '3000' },
      'kafka-port': { type: 'string', default: '9092' },
      'http-port': { type: 'string', default: '8080' },
      'data-dir': { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
    },
  });
  const host = values.host!;
  const stock = Number(values.stock);
  if (!(Number.isInteger(stock) && stock >= 0)) throw new Error(`--stock ${values.stock}: a whole number of units`);
  const items = values.items!.split(',').map((item) => item.trim()).filter((item) => item !== '');
  const dataDir = values['data-dir'] ?? mkdtempSync(join(tmpdir(), 'spate-flash-sale-'));
  const temporaryData = values['data-dir'] === undefined;
  const kafkaPort = Number(values['kafka-port']);
  const httpPort = Number(values['http-port']);
  const bootstrap = `${host}:${kafkaPort}`;

  let broker: ChildRun | null = null;
  let processor: ChildRun | null = null;
  let server: OrderServer | null = null;
  const shutdown = async (): Promise<void> => {
    await server?.close();
    await processor?.stop();
    await broker?.stop();
    if (temporaryData) rmSync(dataDir, { recursive: true, force: true });
  };
  let stopping = false;
  const onSignal = (): void => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stdout.write('flash sale: stopping\n');
    shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`flash sale: stop failed: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    process.stdout.write(`flash sale: starting the broker (Kafka ${bootstrap}, HTTP ${host}:${httpPort}, data in ${dataDir})\n`);
    broker = await startEmbeddedBroker({ kafkaPort, httpPort, dataDir, host });
    await createFlashSaleTopics(bootstrap);
    process.stdout.write(`flash sale: starting the processor (${stock} units of each of ${items.join(', ')})\n`);
    processor = await startProcessorProcess({ bootstrap, initialStock: stock }, 60_000);
    server = await startOrderServer({
      bootstrap,
      wsUrl: `ws://${host}:${httpPort}/ws`,
      items: items.map((item) => ({ item, stock })),
      host,
      port: Number(values.port),
    });
  } catch (error) {
    await shutdown();
    throw error;
  }
  process.stdout.write(`flash sale: open ${server.url} (several tabs, or ${server.url}?user=alice) — Ctrl-C stops it\n`);
  // A child that dies on its own ends the example: the sale cannot go on without it.
  for (const run of [broker, processor]) {
    run.child.once('exit', (code, signal) => {
      if (stopping) return;
      process.stderr.write(`flash sale: the ${run.name} exited (${code ?? signal}):\n${run.output.slice(-4000)}\n`);
      onSignal();
    });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`flash sale: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
