// The connection's safety net (Hardening finding 1): a response that cannot be encoded —
// a broker bug, since handlers must answer only what their version can carry — costs its
// one connection, after the responses before it, with an ERROR line; the process and every
// other connection go on. Before: the RangeError escaped the socket's data handler and
// the process exited. Driven in-process with a real socket: a handler registered for
// Metadata answers a topic name longer than a v0 string can hold.

import { createServer, type Server } from 'node:net';
import t from 'tap';
import type { BrokerServices } from '../../src/handlers/handler.js';
import { defineHandler } from '../../src/handlers/handler.js';
import { HandlerRegistry } from '../../src/handlers/registry.js';
import { apiVersionsHandler } from '../../src/handlers/18-api-versions.js';
import { ThrottledLog, createLogger } from '../../src/logger.js';
import { RequestAdmission } from '../../src/network/admission.js';
import { Connection } from '../../src/network/connection.js';
import { SharedFramePool } from '../../src/network/frame-pool.js';
import { BufferedResponseWriter } from '../../src/network/response-writer.js';
import { apiVersionsApi, metadataApi } from '../../src/protocol/generated/index.js';
import { RawClient } from '../helpers/raw-client.js';
import { ConnectionSession } from '../../src/security/sasl-session.js';
import { Authorizer } from '../../src/security/authorizer.js';

const logged: string[] = [];
const logger = createLogger('test', 'debug', (line) => logged.push(line) > 0);
const registry = new HandlerRegistry();
registry.register(apiVersionsHandler as never);
registry.register(
  defineHandler({
    minVersion: 0,
    maxVersion: 12,
    schema: metadataApi,
    handle: () => ({ brokers: [], topics: [{ errorCode: 0, name: 'x'.repeat(40_000), partitions: [] }] }),
  }) as never,
);
// ApiVersions reads only the registry from the services, and the connection asks for a request_percentage quota (none) and whether there are tenants (none); nothing else is reached.
const services = { apiVersions: () => registry.apiVersions(), clientQuotas: { quotaFor: () => null }, tenants: { any: false }, shuttingDown: false, clientErrors: new ThrottledLog(logger, 1000), authorizer: new Authorizer({ acls: () => [], updateAcls: async () => [] }, () => ({ authorizer: null }) as never) } as unknown as BrokerServices;
const admission = new RequestAdmission({ requestsMax: 10, requestBytesMax: 1 << 20, responseBytesMax: 1 << 20 });

const server: Server = createServer((socket) => {
  new Connection(socket, {
    socketRequestMaxBytes: 1 << 20,
    idleTimeoutMs: 60_000,
    registry,
    framePool: new SharedFramePool(),
    admission,
    track: () => undefined,
    session: new ConnectionSession('PLAINTEXT', { protocol: 'PLAINTEXT', saslMechanisms: [], tls: null }, null, 'test'),
    services,
    writer: new BufferedResponseWriter(),
    logger,
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
const port = (server.address() as { port: number }).port;

t.test('an unencodable response closes its connection after the responses before it', async (t) => {
  const client = await RawClient.connect(t, port);
  const first = client.frameFor(apiVersionsApi, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
  const unencodable = client.frameFor(metadataApi, 0, { topics: [] });
  const after = client.frameFor(apiVersionsApi, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
  client.write(Buffer.concat([first, unencodable, after]));
  const answered = await client.nextResponse(5_000);
  t.equal(answered.correlationId, first.readInt32BE(8), 'the request before it is answered');
  t.ok(await client.waitForClose(5_000), 'then the connection is closed');
  t.equal(client.bufferedFrames, 0, 'with no response to the unencodable request or the one after it');
  t.ok(logged.some((line) => line.includes('ERROR') && line.includes('cannot encode the Metadata v0 response')), 'the failure is logged at ERROR');
  t.equal(admission.requests, 0, 'its admission is released');
});

t.test('other connections are still served', async (t) => {
  const client = await RawClient.connect(t, port);
  const versions = await client.request(apiVersionsApi, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
  t.equal(versions.errorCode, 0);
  t.ok(versions.apiKeys.length >= 2);
});
