// The records of __consumer_offsets, in Kafka's own formats so that Kafka's tools can
// read them: an offset commit (key version 1: group, topic, partition; value version 3:
// offset, leader epoch, metadata, commit time) and a group's metadata (key version 2:
// group; value version 3: protocol, generation, leader, members with their subscription
// and assignment). A null value (tombstone) deletes the key. Bytes in, values out.

import { ProtocolError } from '../protocol/errors.js';
import { Reader } from '../protocol/reader.js';
import { Writer } from '../protocol/writer.js';

const OFFSET_KEY_VERSION = 1;
const GROUP_KEY_VERSION = 2;
const OFFSET_VALUE_VERSION = 3;
const GROUP_VALUE_VERSION = 3;

export interface OffsetKey {
  readonly kind: 'offset';
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
}

export interface GroupKey {
  readonly kind: 'group';
  readonly group: string;
}

export type OffsetsTopicKey = OffsetKey | GroupKey;

export interface CommittedOffset {
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string;
  readonly commitTimestamp: number;
}

export interface StoredMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly rebalanceTimeoutMs: number;
  readonly sessionTimeoutMs: number;
  readonly subscription: Buffer;
  readonly assignment: Buffer;
}

export interface StoredGroup {
  readonly protocolType: string;
  readonly generationId: number;
  readonly protocolName: string | null;
  readonly leader: string | null;
  readonly currentStateTimestamp: number;
  readonly members: readonly StoredMember[];
}

export function encodeOffsetKey(group: string, topic: string, partition: number): Buffer {
  const writer = new Writer(64);
  writer.int16(OFFSET_KEY_VERSION);
  writer.string(group);
  writer.string(topic);
  writer.int32(partition);
  return Buffer.from(writer.toBuffer());
}

export function encodeGroupKey(group: string): Buffer {
  const writer = new Writer(64);
  writer.int16(GROUP_KEY_VERSION);
  writer.string(group);
  return Buffer.from(writer.toBuffer());
}

export function encodeOffsetValue(value: CommittedOffset): Buffer {
  const writer = new Writer(64);
  writer.int16(OFFSET_VALUE_VERSION);
  writer.int64(value.offset);
  writer.int32(value.leaderEpoch);
  writer.string(value.metadata);
  writer.int64(value.commitTimestamp);
  return Buffer.from(writer.toBuffer());
}

export function encodeGroupValue(value: StoredGroup): Buffer {
  const writer = new Writer(256);
  writer.int16(GROUP_VALUE_VERSION);
  writer.string(value.protocolType);
  writer.int32(value.generationId);
  writer.nullableString(value.protocolName);
  writer.nullableString(value.leader);
  writer.int64(value.currentStateTimestamp);
  writer.arrayLength(value.members.length);
  for (const member of value.members) {
    writer.string(member.memberId);
    writer.nullableString(member.groupInstanceId);
    writer.string(member.clientId);
    writer.string(member.clientHost);
    writer.int32(member.rebalanceTimeoutMs);
    writer.int32(member.sessionTimeoutMs);
    writer.bytes(member.subscription);
    writer.bytes(member.assignment);
  }
  return Buffer.from(writer.toBuffer());
}

export function decodeKey(bytes: Buffer): OffsetsTopicKey {
  const reader = new Reader(bytes);
  const version = reader.int16();
  if (version === 0 || version === 1) {
    return { kind: 'offset', group: reader.string(), topic: reader.string(), partition: reader.int32() };
  }
  if (version === GROUP_KEY_VERSION) return { kind: 'group', group: reader.string() };
  throw new ProtocolError(`unknown __consumer_offsets key version ${version}`);
}

/** Offset values of versions 0-3 (the ones Kafka has written). */
export function decodeOffsetValue(bytes: Buffer): CommittedOffset {
  const reader = new Reader(bytes);
  const version = reader.int16();
  if (version < 0 || version > 3) throw new ProtocolError(`unknown offset commit value version ${version}`);
  const offset = reader.int64();
  const leaderEpoch = version >= 3 ? reader.int32() : -1;
  const metadata = reader.string();
  const commitTimestamp = reader.int64();
  if (version === 1) reader.int64(); // expire timestamp, unused since KIP-211
  return { offset, leaderEpoch, metadata, commitTimestamp };
}

/** Group metadata values of versions 0-3. */
export function decodeGroupValue(bytes: Buffer): StoredGroup {
  const reader = new Reader(bytes);
  const version = reader.int16();
  if (version < 0 || version > 3) throw new ProtocolError(`unknown group metadata value version ${version}`);
  const protocolType = reader.string();
  const generationId = reader.int32();
  const protocolName = reader.nullableString();
  const leader = reader.nullableString();
  const currentStateTimestamp = version >= 2 ? reader.int64() : -1;
  const count = reader.arrayLength();
  const members: StoredMember[] = [];
  for (let index = 0; index < count; index++) {
    const memberId = reader.string();
    const groupInstanceId = version >= 3 ? reader.nullableString() : null;
    const clientId = reader.string();
    const clientHost = reader.string();
    const rebalanceTimeoutMs = version >= 1 ? reader.int32() : -1;
    const sessionTimeoutMs = reader.int32();
    const subscription = Buffer.from(reader.bytes());
    const assignment = Buffer.from(reader.bytes());
    members.push({ memberId, groupInstanceId, clientId, clientHost, rebalanceTimeoutMs: rebalanceTimeoutMs < 0 ? sessionTimeoutMs : rebalanceTimeoutMs, sessionTimeoutMs, subscription, assignment });
  }
  return { protocolType, generationId, protocolName, leader, currentStateTimestamp, members };
}

/** Java's String.hashCode, which Kafka uses to place a group in a __consumer_offsets partition. */
function javaStringHash(text: string): number {
  let hash = 0;
  for (let index = 0; index < text.length; index++) hash = (Math.imul(hash, 31) + text.charCodeAt(index)) | 0;
  return hash;
}

/** Kafka's Utils.abs(groupId.hashCode) % partitions (abs maps MIN_VALUE to 0, like Kafka's). */
export function offsetsPartitionFor(group: string, partitions: number): number {
  const hash = javaStringHash(group);
  const positive = hash === -2147483648 ? 0 : Math.abs(hash);
  return positive % partitions;
}
