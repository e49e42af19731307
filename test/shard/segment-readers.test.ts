// The main thread's segment descriptors: a read plan names its file by path and inode, so
// a file replaced at the same path (compaction renames the cleaned file over the old one)
// is never read at the plan's positions (Hardening finding 11); at most `openMax`
// descriptors, idle ones closed first; when all are in use, acquire says so (null).

import { mkdtempSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { SegmentReaders, SegmentReplacedError } from '../../src/shard/segment-readers.js';

const dir = mkdtempSync(join(tmpdir(), 'spate-readers-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function contentsAt(fd: number, length: number): string {
  const bytes = Buffer.alloc(length);
  readSync(fd, bytes, 0, length, 0);
  return bytes.toString();
}

function replace(path: string, contents: string): number {
  writeFileSync(`${path}.cleaned`, contents);
  renameSync(`${path}.cleaned`, path);
  return statSync(path).ino;
}

t.test('a plan made before the file was replaced is refused, not served from the new file', async (t) => {
  const path = join(dir, 'a.log');
  writeFileSync(path, 'old-bytes');
  const oldId = statSync(path).ino;
  const readers = new SegmentReaders(8);
  const newId = replace(path, 'new-bytes');
  t.not(newId, oldId);
  await t.rejects(readers.acquire(path, oldId), SegmentReplacedError, 'opening finds another file than planned');
  const reader = await readers.acquire(path, newId);
  t.equal(contentsAt(reader!.fd, 9), 'new-bytes', 'a plan of the new file gets the new file');
  reader!.release();
});

t.test('a descriptor cached for the old file is not handed to a plan of the new one', async (t) => {
  const path = join(dir, 'b.log');
  writeFileSync(path, 'old-bytes');
  const readers = new SegmentReaders(8);
  const oldReader = await readers.acquire(path, statSync(path).ino);
  t.equal(contentsAt(oldReader!.fd, 9), 'old-bytes');
  const newId = replace(path, 'new-bytes');
  const newReader = await readers.acquire(path, newId);
  t.equal(contentsAt(newReader!.fd, 9), 'new-bytes', 'the new plan reads the new file');
  t.equal(contentsAt(oldReader!.fd, 9), 'old-bytes', 'a response still sending the old file keeps its descriptor');
  oldReader!.release();
  newReader!.release();
});

t.test('a missing file rejects with ENOENT; at most openMax descriptors, idle ones closed first, null when all are in use', async (t) => {
  const readers = new SegmentReaders(2);
  await t.rejects(readers.acquire(join(dir, 'missing.log'), 1), { code: 'ENOENT' });
  const paths = ['c', 'd', 'e'].map((name) => {
    const path = join(dir, `${name}.log`);
    writeFileSync(path, name);
    return { path, id: statSync(path).ino };
  });
  const first = await readers.acquire(paths[0]!.path, paths[0]!.id);
  const second = await readers.acquire(paths[1]!.path, paths[1]!.id);
  t.equal(await readers.acquire(paths[2]!.path, paths[2]!.id), null, 'both descriptors in use: no third');
  t.equal(readers.size, 2);
  first!.release();
  const third = await readers.acquire(paths[2]!.path, paths[2]!.id);
  t.ok(third !== null, 'an idle one is closed to make room');
  t.equal(readers.size, 2, 'still two open');
  t.equal(readFileSync(paths[2]!.path, 'utf8'), 'e');
  second!.release();
  third!.release();
  readers.closeAll();
});
