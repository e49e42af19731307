// The Kafka schemas leave parts of the schema language unused (nullable structs, tagged
// strings/bytes/uuids/arrays, non-nullable records, ...). fixtures/SyntheticMessage.json uses
// them: generate its module, type-check it with the project's strict settings, transpile it,
// and round-trip it at every version.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import t from 'tap';
import ts from 'typescript';
import { contains, generateModule, parseSchema } from '../../scripts/generate-protocol.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import { Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';
import { hashSeed, Random, randomStruct, structDefault, versionsOf } from './fixtures/random-values.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const schemaText = readFileSync(join(root, 'test', 'protocol', 'fixtures', 'SyntheticMessage.json'), 'utf8');
const spec = parseSchema('SyntheticMessage.json', schemaText);
const source = generateModule(spec);

const work = mkdtempSync(join(tmpdir(), 'spate-synthetic-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

/** The generated module with its runtime imports pointed at `dir`/<name>.js. */
function withRuntimeAt(text: string, dir: (name: string) => string): string {
  return text.replace(/from '\.\.\/(reader|writer|chunks|message)\.js'/g, (_, name: string) => `from '${dir(name)}'`);
}

t.test('comments are stripped, // inside strings is kept', async (t) => {
  t.match(source, '/** A struct that may be null from v1 (http://example.com/x). Versions 0+, nullable 1+. */');
  t.equal(spec.root.fields.length, 19);
});

t.test('the generated module type-checks under the project settings', async (t) => {
  const file = join(work, 'synthetic-message.mts');
  writeFileSync(file, withRuntimeAt(source, (name) => join(root, 'src', 'protocol', `${name}.js`)));
  const program = ts.createProgram([file], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2022.d.ts'],
    types: ['node'],
    typeRoots: [join(root, 'node_modules', '@types')],
    strict: true,
    noUnusedLocals: true,
    noUnusedParameters: true,
    noFallthroughCasesInSwitch: true,
    skipLibCheck: true,
    noEmit: true,
  });
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
    return `${where ? `${where.line + 1}:${where.character + 1} ` : ''}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
  t.same(diagnostics, [], 'no compile errors');
});

interface Codec {
  read(r: Reader, version: number): unknown;
  write(w: Writer, version: number, m: unknown): void;
  defaultSyntheticMessage(): unknown;
}

async function load(): Promise<Codec> {
  const js = ts.transpileModule(
    withRuntimeAt(source, (name) => pathToFileURL(join(root, 'dist', 'src', 'protocol', `${name}.js`)).href),
    { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } },
  ).outputText;
  const file = join(work, 'synthetic-message.mjs');
  writeFileSync(file, js);
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  return {
    read: mod.readSyntheticMessage as Codec['read'],
    write: mod.writeSyntheticMessage as Codec['write'],
    defaultSyntheticMessage: mod.defaultSyntheticMessage as Codec['defaultSyntheticMessage'],
  };
}

const encode = (codec: Codec, version: number, value: unknown): Buffer => {
  const w = new Writer(64);
  codec.write(w, version, value);
  return Buffer.from(w.toBuffer());
};

t.test('round trip at every version', async (t) => {
  const codec = await load();
  for (const version of versionsOf(spec)) {
    for (let sample = 0; sample < 40; sample++) {
      const rng = new Random(hashSeed(`synthetic/${version}/${sample}`));
      const { input, expected } = randomStruct({ rng, version, flexible: contains(spec.flexibleVersions, version) }, spec.root, 0);
      const bytes = encode(codec, version, input);
      const reader = new Reader(bytes);
      t.strictSame(codec.read(reader, version), expected, `v${version} sample ${sample}`);
      t.equal(reader.offset, bytes.length, `v${version} sample ${sample}: whole encoding read`);
      const notRejected: number[] = [];
      for (let cut = 0; cut < bytes.length; cut++) {
        try {
          codec.read(new Reader(bytes.subarray(0, cut)), version);
          notRejected.push(cut);
        } catch (error) {
          if (!(error instanceof ProtocolError)) notRejected.push(cut);
        }
      }
      t.same(notRejected, [], `v${version} sample ${sample}: every truncation throws ProtocolError`);
    }
  }
});

t.test('defaults and special encodings', async (t) => {
  const codec = await load();
  for (const version of versionsOf(spec)) {
    const bytes = encode(codec, version, {});
    t.strictSame(codec.read(new Reader(bytes), version), structDefault(spec.root), `v${version}: {} decodes as defaults`);
  }
  t.strictSame(codec.defaultSyntheticMessage(), structDefault(spec.root));
  t.match(codec.defaultSyntheticMessage(), { plain: { a: 0x7fffffff, b: '' }, ratio: 1.5, small: 255, big: 4294967295, tiny: -2, flag: true });

  // A nullable struct: an int8 marker in the versions where it may be null, nothing before.
  t.equal(encode(codec, 1, { plain: null }).subarray(0, 1).toString('hex'), 'ff');
  t.equal(encode(codec, 1, { plain: { a: 1, b: 'z' } }).subarray(0, 8).toString('hex'), '01' + '00000001' + '0001' + '7a');
  t.equal(encode(codec, 0, { plain: { a: 1 } }).subarray(0, 4).toString('hex'), '00000001');
  t.throws(() => encode(codec, 0, { plain: null }), RangeError);
  // The classic (flexibleVersions "none") string stays int16-prefixed in flexible versions.
  t.equal(encode(codec, 2, { classic: 'ab' }).subarray(7, 11).toString('hex'), '0002' + '6162');

  // Tagged: a struct given as null differs from its (non-null) default: tag 0, size 1, varint 0.
  const tail = (value: object): string => {
    const all = encode(codec, 4, value).toString('hex');
    const none = encode(codec, 4, {}).toString('hex');
    return all.slice(none.length - 2); // the tagged section (the last byte of {} is its count, 00)
  };
  t.equal(tail({ taggedStruct: null }), '01' + '00' + '01' + '00');
  t.equal(tail({ taggedNullStruct: { e: true } }), '01' + '05' + '03' + '01' + '01' + '00');
  t.equal(tail({ taggedString: 'abc' }), '00', 'a tagged field equal to its default is not written');
  t.equal(tail({ taggedInts: [] }), '01' + '04' + '01' + '01');
  t.equal(tail({ taggedBytes: null, taggedString: 'q' }), '02' + '01' + '02' + '0271' + '02' + '01' + '00');
});
