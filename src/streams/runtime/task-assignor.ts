// The leader's task assignment, in the spirit of Kafka Streams' StreamsPartitionAssignor with
// its cooperative protocol (KIP-429, KIP-441's stickiness without warm-up replicas):
// - what is assigned are TASKS (subtopology × partition); a task's partition p of every source
//   topic goes to the same member, so the group's topic-partition assignment encodes tasks;
// - balanced: every member gets floor(N/M) or ceil(N/M) tasks;
// - sticky: a member keeps the tasks it reports owning (its subscription userData) up to its quota;
// - cooperative: a task that must move from A to B is given to nobody in this round; A sees it
//   revoked, closes it and rejoins, and the follow-up rebalance gives the (now unowned) task to B.
//   Tasks a member keeps are untouched by the rebalance.

import { taskName, type TaskId } from '../processing.js';

/** What a member puts in its subscription's userData. */
export interface SubscriptionInfo {
  /** Task names this member owns now. */
  readonly owned: readonly string[];
  /** The generation those tasks were assigned in (a zombie's claim loses to a newer one). */
  readonly generation: number;
}

export function encodeSubscriptionInfo(info: SubscriptionInfo): Buffer {
  return Buffer.from(JSON.stringify({ version: 1, owned: info.owned, generation: info.generation }));
}

export function decodeSubscriptionInfo(data: Buffer | string | null | undefined): SubscriptionInfo {
  if (data === null || data === undefined || data.length === 0) return { owned: [], generation: -1 };
  try {
    const parsed = JSON.parse(data.toString()) as { owned?: unknown; generation?: unknown };
    const owned = Array.isArray(parsed.owned) ? parsed.owned.filter((t): t is string => typeof t === 'string') : [];
    return { owned, generation: typeof parsed.generation === 'number' ? parsed.generation : -1 };
  } catch {
    // A member of another version or client: it claims nothing, so it only gets unowned tasks.
    return { owned: [], generation: -1 };
  }
}

export interface AssignmentResult {
  /** Member id → task names assigned in this round. */
  readonly assignment: ReadonlyMap<string, readonly string[]>;
  /** Tasks held back this round because they move: their owner must give them up first. */
  readonly revoked: readonly string[];
}

/**
 * Assigns `tasks` (names) to `members` (id → what it reported). Deterministic: members and
 * tasks are taken in sorted order.
 */
export function assignTasks(tasks: readonly string[], members: ReadonlyMap<string, SubscriptionInfo>): AssignmentResult {
  const memberIds = [...members.keys()].sort();
  const allTasks = [...new Set(tasks)].sort(compareTaskNames);
  const taskSet = new Set(allTasks);
  if (memberIds.length === 0) return { assignment: new Map(), revoked: [] };

  // Who owns what: a task claimed twice (a zombie) goes to the claim of the newest generation.
  const owner = new Map<string, { member: string; generation: number }>();
  for (const member of memberIds) {
    const info = members.get(member)!;
    for (const task of info.owned) {
      if (!taskSet.has(task)) continue;
      const current = owner.get(task);
      if (current === undefined || info.generation > current.generation) owner.set(task, { member, generation: info.generation });
    }
  }
  const owned = new Map<string, string[]>(memberIds.map((m) => [m, []]));
  for (const task of allTasks) {
    const claim = owner.get(task);
    if (claim !== undefined) owned.get(claim.member)!.push(task);
  }

  // Quotas: floor(N/M) each, the N % M extra slots to the members owning the most (fewest moves).
  const base = Math.floor(allTasks.length / memberIds.length);
  let extra = allTasks.length % memberIds.length;
  const quota = new Map<string, number>();
  for (const member of [...memberIds].sort((a, b) => owned.get(b)!.length - owned.get(a)!.length || (a < b ? -1 : 1))) {
    quota.set(member, base + (extra > 0 ? 1 : 0));
    if (extra > 0) extra -= 1;
  }

  const assignment = new Map<string, string[]>(memberIds.map((m) => [m, []]));
  const revoked: string[] = [];
  const unowned: string[] = [];
  for (const member of memberIds) {
    const keep = owned.get(member)!;
    const limit = quota.get(member)!;
    assignment.get(member)!.push(...keep.slice(0, limit));
    revoked.push(...keep.slice(limit));
  }
  for (const task of allTasks) if (!owner.has(task)) unowned.push(task);

  // Only tasks nobody owns are handed out now; revoked ones wait for the follow-up rebalance.
  for (const task of unowned) {
    let target: string | null = null;
    for (const member of memberIds) {
      const count = assignment.get(member)!.length;
      if (count >= quota.get(member)!) continue;
      if (target === null || count < assignment.get(target)!.length) target = member;
    }
    // Every quota full can only happen while revoked tasks keep slots free elsewhere; then the
    // task waits like a revoked one.
    if (target === null) revoked.push(task);
    else assignment.get(target)!.push(task);
  }
  for (const tasksOfMember of assignment.values()) tasksOfMember.sort(compareTaskNames);
  return { assignment, revoked: revoked.sort(compareTaskNames) };
}

export function parseTaskName(name: string): TaskId {
  const match = /^(\d+)_(\d+)$/.exec(name);
  if (match === null) throw new RangeError(`not a task name: ${name}`);
  return { subtopology: Number(match[1]), partition: Number(match[2]) };
}

export function compareTaskNames(a: string, b: string): number {
  const x = parseTaskName(a);
  const y = parseTaskName(b);
  return x.subtopology - y.subtopology || x.partition - y.partition;
}

export { taskName };
