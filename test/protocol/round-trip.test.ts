// Round trips every generated codec at every version with pseudo-random values, checks that
// truncated or garbled input fails with ProtocolError, and pins the wire format with a few
// hand-computed byte strings.

import t from 'tap';
import { contains, defaultSchemasDir, loadSchemas, type MessageSpec } from '../../scripts/generate-protocol.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import { Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';
import { apiSchemas, ApiKey } from '../../src/protocol/generated/index.js';
import { readApiVersionsRequest, writeApiVersionsRequest } from '../../src/protocol/generated/api-versions-request.js';
import { readMetadataRequest, writeMetadataRequest } from '../../src/protocol/generated/metadata-request.js';
import { readFetchResponse, writeFetchResponse, type FetchResponse } from '../../src/protocol/generated/fetch-response.js';
import { readProduceRequest, writeProduceRequest } from '../../src/protocol/generated/produce-request.js';
import { readRequestHeader as readRequestHeaderMessage, writeRequestHeader } from '../../src/protocol/generated/request-header.js';
import {
  readRequestHeader,
  requestHeaderVersion,
  responseHeaderVersion,
  writeResponseHeader,
} from '../../src/protocol/header.js';
import type { ChunkList } from '../../src/protocol/chunks.js';
import { hashSeed, Random, randomStruct, structDefault, versionsOf } from './fixtures/random-values.js';

interface Codec {
  read(r: Reader, version: number): unknown;
  write(w: Writer, version: number, m: unknown): void;
  makeDefault(): unknown;
}

const specs = loadSchemas(defaultSchemasDir());

async function codecFor(spec: MessageSpec): Promise<Codec> {
  const mod = (await import(new URL(`../../src/protocol/generated/${spec.moduleName}.js`, import.meta.url).href)) as Record<
    string,
    unknown
  >;
  const read = mod[`read${spec.name}`];
  const write = mod[`write${spec.name}`];
  const makeDefault = mod[`default${spec.name}`];
  if (typeof read !== 'function' || typeof write !== 'function' || typeof makeDefault !== 'function') {
    throw new Error(`${spec.moduleName}: missing read/write/default functions`);
  }
  return {
    read: read as Codec['read'],
    write: write as Codec['write'],
    makeDefault: makeDefault as Codec['makeDefault'],
  };
}

const codecs = new Map<string, Codec>();
for (const spec of specs) codecs.set(spec.name, await codecFor(spec));

function encode(codec: Codec, version: number, value: unknown): Buffer {
  const w = new Writer(64);
  codec.write(w, version, value);
  return Buffer.from(w.toBuffer());
}

// ----- tests -------------------------------------------------------------------------------

t.test('the schema set is complete', async (t) => {
  t.equal(specs.length, 108, 'all 108 schemas load');
  t.equal(apiSchemas.size, 52, 'one registry entry per API key (104 request/response schemas)');
  for (const spec of specs) {
    if (spec.apiKey !== undefined) t.ok(apiSchemas.has(spec.apiKey), `${spec.name} is in the registry`);
  }
});

t.test('round trip at every version of every schema', async (t) => {
  const samples = 4;
  for (const spec of specs) {
    const codec = codecs.get(spec.name)!;
    let checked = 0;
    const failures: string[] = [];
    for (const version of versionsOf(spec)) {
      const flexible = contains(spec.flexibleVersions, version);
      for (let sample = 0; sample < samples; sample++) {
        const rng = new Random(hashSeed(`${spec.name}/${version}/${sample}`));
        const { input, expected } = randomStruct({ rng, version, flexible }, spec.root, 0);
        let bytes: Buffer;
        let decoded: unknown;
        let consumed: number;
        try {
          bytes = encode(codec, version, input);
          const reader = new Reader(bytes);
          decoded = codec.read(reader, version);
          consumed = reader.offset;
        } catch (error) {
          failures.push(`v${version}#${sample}: ${String(error)}`);
          continue;
        }
        checked++;
        if (consumed !== bytes.length) failures.push(`v${version}#${sample}: read ${consumed} of ${bytes.length} bytes`);
        if (!t.strictSame(decoded, expected, `${spec.name} v${version} sample ${sample}`)) {
          failures.push(`v${version}#${sample}: decoded value differs`);
        }
        // The same bytes again from a re-encode of the decoded value.
        if (!encode(codec, version, decoded).equals(bytes)) failures.push(`v${version}#${sample}: re-encoding differs`);
      }
    }
    t.same(failures, [], `${spec.name}: ${checked} values round-trip`);
  }
});

t.test('missing fields are written as their defaults', async (t) => {
  for (const spec of specs) {
    const codec = codecs.get(spec.name)!;
    for (const version of versionsOf(spec)) {
      const bytes = encode(codec, version, {});
      const decoded = codec.read(new Reader(bytes), version);
      const fromFull = encode(codec, version, codec.makeDefault());
      if (!bytes.equals(fromFull)) t.fail(`${spec.name} v${version}: {} and default() encode differently`);
      t.strictSame(decoded, structDefault(spec.root), `${spec.name} v${version}: {} decodes as the defaults`);
    }
    t.strictSame(codec.makeDefault(), structDefault(spec.root), `${spec.name}: default() has the schema defaults`);
  }
});

t.test('a truncated encoding throws ProtocolError at every cut', async (t) => {
  for (const spec of specs) {
    const codec = codecs.get(spec.name)!;
    const problems: string[] = [];
    for (const version of [spec.validVersions.lo, spec.validVersions.hi]) {
      const rng = new Random(hashSeed(`truncate/${spec.name}/${version}`));
      const { input } = randomStruct({ rng, version, flexible: contains(spec.flexibleVersions, version) }, spec.root, 0);
      const bytes = encode(codec, version, input);
      for (let cut = 0; cut < bytes.length; cut++) {
        try {
          codec.read(new Reader(bytes.subarray(0, cut)), version);
          problems.push(`v${version} cut at ${cut}: decoded`);
        } catch (error) {
          if (!(error instanceof ProtocolError)) problems.push(`v${version} cut at ${cut}: ${String(error)}`);
        }
      }
    }
    t.same(problems, [], `${spec.name}: every truncation throws ProtocolError`);
  }
});

t.test('random bytes decode or throw ProtocolError, never anything else', async (t) => {
  const rng = new Random(12345);
  for (const spec of specs) {
    const codec = codecs.get(spec.name)!;
    const problems: string[] = [];
    for (const version of versionsOf(spec)) {
      for (let i = 0; i < 20; i++) {
        const bytes = rng.bytes(rng.int(0, 64));
        try {
          codec.read(new Reader(bytes), version);
        } catch (error) {
          if (!(error instanceof ProtocolError)) problems.push(`v${version} ${bytes.toString('hex')}: ${String(error)}`);
        }
      }
    }
    t.same(problems, [], `${spec.name}: garbage fails cleanly`);
  }
});

t.test('a huge array count fails fast instead of allocating', async (t) => {
  // MetadataRequest v1: topics array of 0x7fffffff elements in a 4-byte frame.
  t.throws(() => readMetadataRequest(new Reader(Buffer.from('7fffffff', 'hex')), 1), ProtocolError);
  // Flexible: compact length 2^32-1 - 1.
  t.throws(() => readMetadataRequest(new Reader(Buffer.from('ffffffff0f', 'hex')), 9), ProtocolError);
});

t.test('golden bytes', async (t) => {
  t.test('ApiVersionsRequest v3: compact strings and an empty tagged section', async (t) => {
    const w = new Writer();
    writeApiVersionsRequest(w, 3, { clientSoftwareName: 'spate', clientSoftwareVersion: '0.1.0' });
    const bytes = w.toBuffer();
    t.equal(bytes.toString('hex'), '06' + '7370617465' + '06' + '302e312e30' + '00');
    t.same(readApiVersionsRequest(new Reader(bytes), 3), { clientSoftwareName: 'spate', clientSoftwareVersion: '0.1.0' });
    const v0 = new Writer();
    writeApiVersionsRequest(v0, 0, { clientSoftwareName: 'spate', clientSoftwareVersion: '0.1.0' });
    t.equal(v0.toBuffer().length, 0, 'v0 has no fields');
  });

  t.test('MetadataRequest v1 with null topics', async (t) => {
    const w = new Writer();
    writeMetadataRequest(w, 1, { topics: null });
    t.equal(w.toBuffer().toString('hex'), 'ffffffff');
    t.same(readMetadataRequest(new Reader(Buffer.from('ffffffff', 'hex')), 1), {
      topics: null,
      allowAutoTopicCreation: true,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    const v4 = new Writer();
    writeMetadataRequest(v4, 4, { topics: [{ name: 'a' }], allowAutoTopicCreation: false });
    t.equal(v4.toBuffer().toString('hex'), '00000001' + '0001' + '61' + '00');
    t.throws(() => writeMetadataRequest(new Writer(), 0, { topics: null }), RangeError, 'null topics is not allowed in v0');
    t.throws(() => readMetadataRequest(new Reader(Buffer.from('ffffffff', 'hex')), 0), ProtocolError);
  });

  t.test('FetchResponse v12 partition with the CurrentLeader tagged field', async (t) => {
    const value: FetchResponse = {
      throttleTimeMs: 0,
      errorCode: 0,
      sessionId: 0,
      responses: [
        {
          topic: 't',
          topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
          partitions: [
            {
              partitionIndex: 0,
              errorCode: 6,
              highWatermark: 100,
              lastStableOffset: 100,
              logStartOffset: 0,
              divergingEpoch: { epoch: -1, endOffset: -1 },
              currentLeader: { leaderId: 2, leaderEpoch: 5 },
              snapshotId: { endOffset: -1, epoch: -1 },
              abortedTransactions: null,
              preferredReadReplica: -1,
              records: null,
            },
          ],
        },
      ],
      nodeEndpoints: [],
    };
    const w = new Writer();
    writeFetchResponse(w, 12, value);
    const expected = [
      '00000000', // throttle_time_ms
      '0000', // error_code
      '00000000', // session_id
      '02', // responses: 1 element (compact)
      '0274', // topic "t"
      '02', // partitions: 1 element
      '00000000', // partition_index
      '0006', // error_code NOT_LEADER_OR_FOLLOWER
      '0000000000000064', // high_watermark
      '0000000000000064', // last_stable_offset
      '0000000000000000', // log_start_offset
      '00', // aborted_transactions: null
      'ffffffff', // preferred_read_replica
      '00', // records: null
      '01', // partition tagged fields: 1
      '01', // tag 1 (CurrentLeader)
      '09', // size 9
      '00000002', // leader_id
      '00000005', // leader_epoch
      '00', // CurrentLeader's own tagged fields
      '00', // topic tagged fields
      '00', // response tagged fields (NodeEndpoints is v16+)
    ].join('');
    const bytes = w.toBuffer();
    t.equal(bytes.toString('hex'), expected);
    t.same(readFetchResponse(new Reader(bytes), 12), value);
  });

  t.test('request header v2 with a client id', async (t) => {
    const w = new Writer();
    writeRequestHeader(w, 2, { requestApiKey: 18, requestApiVersion: 3, correlationId: 7, clientId: 'cli' });
    const bytes = w.toBuffer();
    t.equal(bytes.toString('hex'), '0012' + '0003' + '00000007' + '0003' + '636c69' + '00');
    t.same(readRequestHeaderMessage(new Reader(bytes), 2), {
      requestApiKey: 18,
      requestApiVersion: 3,
      correlationId: 7,
      clientId: 'cli',
    });
  });
});

t.test('records: decoded as a view of the frame, encoded from chunk lists', async (t) => {
  const records = Buffer.alloc(5000, 7);
  const chunkList: ChunkList = { byteLength: records.length, chunks: [records.subarray(0, 4500), records.subarray(4500)] };
  for (const version of [11, 12]) {
    const w = new Writer();
    writeFetchResponse(w, version, { responses: [{ topic: 'x', partitions: [{ partitionIndex: 1, records: chunkList }] }] });
    const frame = Buffer.concat(w.finish().map((chunk) => chunk as Buffer));
    const decoded = readFetchResponse(new Reader(frame), version);
    const got = decoded.responses[0]!.partitions[0]!.records as Buffer;
    t.ok(Buffer.isBuffer(got));
    t.ok(got.equals(records), `v${version}: records bytes survive`);
    t.equal(got.buffer, frame.buffer, `v${version}: decoded records are a subarray of the frame`);
  }
  const produce = new Writer();
  writeProduceRequest(produce, 9, { acks: -1, topicData: [{ name: 'x', partitionData: [{ index: 0, records: Buffer.from('abc') }] }] });
  const decoded = readProduceRequest(new Reader(produce.toBuffer()), 9);
  t.same(decoded.topicData[0]!.partitionData[0]!.records, Buffer.from('abc'));
});

t.test('unknown tagged fields survive a round trip, merged in tag order', async (t) => {
  const w = new Writer();
  writeFetchResponse(w, 12, {
    responses: [
      {
        topic: 'x',
        partitions: [
          {
            currentLeader: { leaderId: 1 },
            unknownTaggedFields: [
              { tag: 5, data: Buffer.from('ff', 'hex') },
              { tag: 0x80, data: Buffer.from('') },
            ],
          },
        ],
      },
    ],
  });
  const bytes = w.toBuffer();
  const hex = bytes.toString('hex');
  // tags 1 (CurrentLeader), 5, 128 (two-byte varint 8001)
  t.ok(hex.includes('03' + '01' + '09' + '00000001' + 'ffffffff' + '00' + '05' + '01' + 'ff' + '8001' + '00'), hex);
  const decoded = readFetchResponse(new Reader(bytes), 12);
  t.same(decoded.responses[0]!.partitions[0]!.unknownTaggedFields, [
    { tag: 5, data: Buffer.from('ff', 'hex') },
    { tag: 128, data: Buffer.alloc(0) },
  ]);
  // A known tag with a payload of the wrong size is malformed.
  const bad = Buffer.from(bytes);
  const at = hex.indexOf('0301090000000');
  bad[at / 2 + 2] = 0x0a; // size 10, value is 9
  t.throws(() => readFetchResponse(new Reader(bad), 12), ProtocolError);
});

t.test('registry', async (t) => {
  const produce = apiSchemas.get(ApiKey.Produce)!;
  t.match(produce, { name: 'Produce', apiKey: 0, minVersion: 0, maxVersion: 11, flexibleMinVersion: 9, latestVersionUnstable: false });
  t.same(produce.deprecatedVersions, { min: 0, max: 6 });
  const sasl = apiSchemas.get(ApiKey.SaslHandshake)!;
  t.equal(sasl.flexibleMinVersion, Infinity, 'no flexible versions: Infinity');
  t.equal(apiSchemas.get(ApiKey.EndTxn)!.latestVersionUnstable, true);
  t.equal(apiSchemas.get(ApiKey.ApiVersions)!.deprecatedVersions, undefined);
  t.equal(apiSchemas.get(ApiKey.Fetch)!.maxVersion, 17);
  t.same(apiSchemas.get(ApiKey.ControlledShutdown)!.listeners, ['zkBroker', 'controller']);
  // Generic use.
  const w = new Writer();
  produce.writeResponse(w, 9, { responses: [{ name: 'x' }] });
  t.match(produce.readResponse(new Reader(w.toBuffer()), 9), { responses: [{ name: 'x', partitionResponses: [] }] });
});

t.test('header versions', async (t) => {
  t.equal(requestHeaderVersion(ApiKey.ControlledShutdown, 0), 0);
  t.equal(requestHeaderVersion(ApiKey.ControlledShutdown, 1), 1);
  t.equal(requestHeaderVersion(ApiKey.ControlledShutdown, 3), 2);
  t.equal(requestHeaderVersion(ApiKey.Produce, 8), 1);
  t.equal(requestHeaderVersion(ApiKey.Produce, 9), 2);
  t.equal(requestHeaderVersion(ApiKey.ApiVersions, 3), 2);
  t.equal(requestHeaderVersion(ApiKey.SaslHandshake, 1), 1);
  t.equal(requestHeaderVersion(999, 0), 1, 'unknown key');
  t.equal(requestHeaderVersion(ApiKey.Produce, 99), 1, 'version out of range');
  t.equal(responseHeaderVersion(ApiKey.Produce, 8), 0);
  t.equal(responseHeaderVersion(ApiKey.Produce, 9), 1);
  t.equal(responseHeaderVersion(ApiKey.ApiVersions, 3), 0, 'ApiVersions responses always use header v0');
  t.equal(responseHeaderVersion(ApiKey.ApiVersions, 4), 0);
  t.equal(responseHeaderVersion(999, 5), 0);
});

t.test('readRequestHeader', async (t) => {
  const frame = (hex: string): Reader => new Reader(Buffer.from(hex.replace(/ /g, ''), 'hex'));
  // ApiVersions v3 (flexible): header v2, then the body.
  let r = frame('0012 0003 0000002a 0003 636c69 00 ee');
  t.same(readRequestHeader(r), { apiKey: 18, apiVersion: 3, correlationId: 42, clientId: 'cli', headerVersion: 2 });
  t.equal(r.offset, 14, 'positioned at the body');
  // Produce v8 (not flexible): header v1, null client id.
  r = frame('0000 0008 00000001 ffff ee');
  t.same(readRequestHeader(r), { apiKey: 0, apiVersion: 8, correlationId: 1, clientId: null, headerVersion: 1 });
  t.equal(r.offset, 10);
  // ControlledShutdown v0: header v0, no client id.
  r = frame('0007 0000 00000005 ee');
  t.match(readRequestHeader(r), { apiKey: 7, apiVersion: 0, correlationId: 5, headerVersion: 0 });
  t.equal(r.offset, 8);
  // Unknown key and out-of-range version: read as v1, no throw.
  r = frame('03e7 0000 00000009 0001 78 ee');
  t.same(readRequestHeader(r), { apiKey: 999, apiVersion: 0, correlationId: 9, clientId: 'x', headerVersion: 1 });
  r = frame('0012 0063 00000009 0001 78 00');
  t.same(readRequestHeader(r), { apiKey: 18, apiVersion: 99, correlationId: 9, clientId: 'x', headerVersion: 1 });
  t.equal(r.offset, 11);
  // Truncated header.
  t.throws(() => readRequestHeader(frame('0012 0003 0000')), ProtocolError);
  t.throws(() => readRequestHeader(frame('0012 0003 0000002a 0005 6363')), ProtocolError);
});

t.test('writeResponseHeader', async (t) => {
  const hex = (apiKey: number, apiVersion: number): string => {
    const w = new Writer();
    writeResponseHeader(w, apiKey, apiVersion, 0x01020304);
    return w.toBuffer().toString('hex');
  };
  t.equal(hex(ApiKey.Produce, 8), '01020304');
  t.equal(hex(ApiKey.Produce, 9), '0102030400');
  t.equal(hex(ApiKey.ApiVersions, 3), '01020304');
  t.equal(hex(ApiKey.Fetch, 12), '0102030400');
});
