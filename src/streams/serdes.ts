// Serdes: how keys and values become bytes on topics and in stores, named as Kafka's
// org.apache.kafka.common.serialization.Serdes. Every serde here maps null to null both ways,
// because a null value is a tombstone (a table's delete) and a null key is "no key", exactly as
// Kafka's built-in serializers treat them; a serde never invents bytes for null.

export interface Serde<T> {
  serialize(topic: string, value: T): Buffer | null;
  deserialize(topic: string, data: Buffer | null): T;
}

/** Bytes that cannot be (de)serialized by a serde: Kafka's SerializationException. */
export class SerializationException extends Error {
  override readonly name = 'SerializationException';
}

/** What a user-supplied schema codec (Avro, Protobuf, a registry client…) provides. */
export interface SchemaHook<T> {
  serialize(topic: string, value: T): Buffer;
  deserialize(topic: string, data: Buffer): T;
}

const stringSerde: Serde<string> = {
  serialize: (_topic, value) => (value == null ? null : Buffer.from(value, 'utf8')),
  deserialize: (_topic, data) => (data == null ? (null as unknown as string) : data.toString('utf8')),
};

const bytesSerde: Serde<Buffer> = {
  serialize: (_topic, value) => (value == null ? null : value),
  deserialize: (_topic, data) => (data == null ? (null as unknown as Buffer) : data),
};

// Kafka's LongSerializer writes the long big-endian in 8 bytes; count() values are longs, so a Java
// or kcat consumer reading our counts with LongDeserializer sees the same numbers.
const longSerde: Serde<number> = {
  serialize(topic, value) {
    if (value == null) return null;
    if (!Number.isSafeInteger(value)) throw new SerializationException(`Long serde: ${value} is not a safe integer (topic ${topic})`);
    const out = Buffer.allocUnsafe(8);
    out.writeBigInt64BE(BigInt(value));
    return out;
  },
  deserialize(topic, data) {
    if (data == null) return null as unknown as number;
    if (data.length !== 8) throw new SerializationException(`Long serde: ${data.length} bytes, a long has 8 (topic ${topic})`);
    const value = data.readBigInt64BE();
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new SerializationException(`Long serde: ${value} is beyond a JavaScript safe integer (topic ${topic})`);
    }
    return Number(value);
  },
};

const integerSerde: Serde<number> = {
  serialize(topic, value) {
    if (value == null) return null;
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) throw new SerializationException(`Integer serde: ${value} is not an int32 (topic ${topic})`);
    const out = Buffer.allocUnsafe(4);
    out.writeInt32BE(value);
    return out;
  },
  deserialize(topic, data) {
    if (data == null) return null as unknown as number;
    if (data.length !== 4) throw new SerializationException(`Integer serde: ${data.length} bytes, an int has 4 (topic ${topic})`);
    return data.readInt32BE();
  },
};

// Kafka's DoubleSerializer: Double.doubleToLongBits, big-endian.
const doubleSerde: Serde<number> = {
  serialize(_topic, value) {
    if (value == null) return null;
    const out = Buffer.allocUnsafe(8);
    out.writeDoubleBE(value);
    return out;
  },
  deserialize(topic, data) {
    if (data == null) return null as unknown as number;
    if (data.length !== 8) throw new SerializationException(`Double serde: ${data.length} bytes, a double has 8 (topic ${topic})`);
    return data.readDoubleBE();
  },
};

function json<T = unknown>(options: { validate?(value: unknown): T } = {}): Serde<T> {
  return {
    serialize(topic, value) {
      if (value == null) return null;
      const text = JSON.stringify(value);
      if (text === undefined) throw new SerializationException(`Json serde: a ${typeof value} has no JSON form (topic ${topic})`);
      return Buffer.from(text, 'utf8');
    },
    deserialize(topic, data) {
      if (data == null) return null as unknown as T;
      let parsed: unknown;
      try {
        parsed = JSON.parse(data.toString('utf8'));
      } catch (error) {
        throw new SerializationException(`Json serde: not JSON (topic ${topic}): ${(error as Error).message}`, { cause: error });
      }
      return options.validate ? options.validate(parsed) : (parsed as T);
    },
  };
}

/** A serde from a schema codec; null stays null (tombstones never reach the codec). */
function schema<T>(hook: SchemaHook<T>): Serde<T> {
  return {
    serialize: (topic, value) => (value == null ? null : hook.serialize(topic, value)),
    deserialize: (topic, data) => (data == null ? (null as unknown as T) : hook.deserialize(topic, data)),
  };
}

export const Serdes = {
  String: stringSerde,
  Bytes: bytesSerde,
  Long: longSerde,
  Integer: integerSerde,
  Double: doubleSerde,
  Json: json,
  schema,
} as const;
