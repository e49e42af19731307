// The Java client's default partitioner for keyed records (org.apache.kafka.clients.producer.internals.BuiltInPartitioner,
// KIP-794 for unkeyed ones, which are the caller's): a key goes to murmur2(key) & 0x7fffffff modulo
// the partition count, so `spate produce`, the admin API's produce and every Java, librdkafka
// (murmur2_random) and kafkajs (its JavaCompatiblePartitioner) producer put a key in the same partition.

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as the Java default partitioner uses it. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  const m = 0x5bd1e995;
  let h = (0x9747b28c ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const rest = length % 4;
  if (rest === 3) h ^= data[whole + 2]! << 16;
  if (rest >= 2) h ^= data[whole + 1]! << 8;
  if (rest >= 1) {
    h ^= data[whole]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h;
}

/** The partition the Java client's default partitioner picks for a key among `partitionCount`. */
export function keyPartition(key: Uint8Array, partitionCount: number): number {
  if (!(Number.isInteger(partitionCount) && partitionCount >= 1)) throw new RangeError(`a topic has at least 1 partition, not ${partitionCount}`);
  return (murmur2(key) & 0x7fffffff) % partitionCount;
}
