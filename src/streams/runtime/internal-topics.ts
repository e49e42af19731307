// Creates (or checks) a topology's internal topics before the group is joined, as Kafka
// Streams' InternalTopicManager does: repartition topics get the partition count of the
// subtopology that reads them (max over its other sources; the max of all user sources when
// it has none), changelogs that of their store's subtopology, and `cleanup.policy=compact`.
// An existing internal topic with another partition count is an error (as in Kafka), since
// tasks and changelog partitions would no longer line up.

import type { Admin } from '@platformatic/kafka';
import type { BuiltTopology } from '../processing.js';

export interface TopologyLayout {
  /** Subtopology id → its task count (max partitions over its source topics). */
  readonly partitionsBySubtopology: ReadonlyMap<number, number>;
  /** Every topic read or written whose partition count is known (sources and internal topics). */
  readonly partitionsByTopic: ReadonlyMap<string, number>;
}

function isAlreadyExists(error: unknown): boolean {
  return describeError(error).includes('TOPIC_ALREADY_EXISTS') || describeError(error).includes('already exists');
}

/** Every message and api id inside an error tree (the client nests ResponseErrors). */
export function describeError(error: unknown, depth = 0): string {
  if (depth > 6 || error === null || error === undefined) return '';
  if (typeof error !== 'object') return String(error);
  const e = error as { message?: unknown; apiId?: unknown; code?: unknown; errors?: unknown; cause?: unknown };
  const parts = [String(e.message ?? ''), String(e.apiId ?? ''), String(e.code ?? '')];
  if (Array.isArray(e.errors)) for (const inner of e.errors) parts.push(describeError(inner, depth + 1));
  if (e.cause !== undefined) parts.push(describeError(e.cause, depth + 1));
  return parts.join(' ');
}

export async function prepareInternalTopics(admin: Admin, topology: BuiltTopology, replicationFactor: number): Promise<TopologyLayout> {
  const internal = new Map(topology.internalTopics.map((spec) => [spec.name, spec]));
  const userSources = [...new Set(topology.subtopologies.flatMap((s) => s.sourceTopics).filter((t) => !internal.has(t)))];
  const partitionsByTopic = new Map<string, number>();
  if (userSources.length > 0) {
    const metadata = await admin.metadata({ topics: userSources });
    for (const topic of userSources) {
      const count = metadata.topics.get(topic)?.partitionsCount;
      if (count === undefined) throw new Error(`source topic ${topic} does not exist (Kafka Streams: MissingSourceTopicException)`);
      partitionsByTopic.set(topic, count);
    }
  }
  const maxUser = Math.max(1, ...partitionsByTopic.values());
  const changelogs = new Map<string, number>();
  for (const subtopology of topology.subtopologies) for (const store of subtopology.stores) changelogs.set(store.changelogTopic, subtopology.id);

  // Repartition topics first: their counts feed the subtopologies reading them.
  for (const spec of topology.internalTopics) {
    if (changelogs.has(spec.name)) continue;
    if (spec.partitions !== undefined) {
      partitionsByTopic.set(spec.name, spec.partitions);
      continue;
    }
    const reader = topology.subtopologies.find((s) => s.sourceTopics.includes(spec.name));
    const others = reader?.sourceTopics.filter((t) => partitionsByTopic.has(t) && !internal.has(t)).map((t) => partitionsByTopic.get(t)!) ?? [];
    partitionsByTopic.set(spec.name, others.length > 0 ? Math.max(...others) : maxUser);
  }
  const partitionsBySubtopology = new Map<number, number>();
  for (const subtopology of topology.subtopologies) {
    const counts = subtopology.sourceTopics.map((t) => partitionsByTopic.get(t)).filter((c): c is number => c !== undefined);
    partitionsBySubtopology.set(subtopology.id, counts.length > 0 ? Math.max(...counts) : maxUser);
  }
  for (const [changelog, subtopology] of changelogs) {
    const spec = internal.get(changelog);
    partitionsByTopic.set(changelog, spec?.partitions ?? partitionsBySubtopology.get(subtopology)!);
  }

  const existing = new Set(await admin.listTopics());
  const toCheck: string[] = [];
  for (const spec of topology.internalTopics) {
    const partitions = partitionsByTopic.get(spec.name)!;
    const configs = { ...spec.configs, ...(changelogs.has(spec.name) ? { 'cleanup.policy': spec.configs['cleanup.policy'] ?? 'compact' } : {}) };
    if (existing.has(spec.name)) {
      toCheck.push(spec.name);
      continue;
    }
    try {
      await admin.createTopics({
        topics: [spec.name],
        partitions,
        replicas: replicationFactor,
        configs: Object.entries(configs).map(([name, value]) => ({ name, value })),
      });
    } catch (error) {
      // Another instance of the application created it first: check it like an existing one.
      if (!isAlreadyExists(error)) throw error;
      toCheck.push(spec.name);
    }
  }
  if (toCheck.length > 0) {
    const metadata = await admin.metadata({ topics: toCheck, forceUpdate: true });
    for (const name of toCheck) {
      const actual = metadata.topics.get(name)?.partitionsCount;
      const expected = partitionsByTopic.get(name)!;
      if (actual !== expected) throw new Error(`internal topic ${name} has ${String(actual)} partitions, the topology needs ${expected}`);
    }
  }
  return { partitionsBySubtopology, partitionsByTopic };
}
