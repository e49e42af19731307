// A consumer group as the classic group protocol sees it: members with their protocols,
// the generation, the leader, the selected protocol and the state machine Kafka uses
// (Empty → PreparingRebalance → CompletingRebalance → Stable, and Dead). Plain data
// with small helpers; group-membership.ts drives the transitions.

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

/** Which states each state may move to (Kafka's GroupState.validPreviousStates, turned around). */
const TRANSITIONS: Record<GroupState, readonly GroupState[]> = {
  Empty: ['PreparingRebalance', 'Dead'],
  PreparingRebalance: ['CompletingRebalance', 'Empty', 'Dead'],
  CompletingRebalance: ['PreparingRebalance', 'Stable', 'Dead'],
  Stable: ['PreparingRebalance', 'Dead'],
  Dead: ['Dead'],
};

export interface JoinResult {
  readonly errorCode: number;
  readonly generationId: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly leader: string;
  readonly memberId: string;
  readonly members: readonly { memberId: string; groupInstanceId: string | null; metadata: Buffer }[];
}

export interface SyncResult {
  readonly errorCode: number;
  readonly protocolType: string | null;
  readonly protocolName: string | null;
  readonly assignment: Buffer;
}

export interface Protocol {
  readonly name: string;
  readonly metadata: Buffer;
}

export class Member {
  protocols: readonly Protocol[];
  assignment: Buffer = Buffer.alloc(0);
  /** Set while the member waits for the join phase to complete. */
  awaitingJoin: ((result: JoinResult) => void) | null = null;
  /** Set while the member waits for the leader's assignment. */
  awaitingSync: ((result: SyncResult) => void) | null = null;
  /** Session expiry timer, re-armed by every heartbeat, join and sync. */
  heartbeatTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly memberId: string,
    public groupInstanceId: string | null,
    readonly clientId: string,
    readonly clientHost: string,
    public rebalanceTimeoutMs: number,
    public sessionTimeoutMs: number,
    protocols: readonly Protocol[],
  ) {
    this.protocols = protocols;
  }

  metadataFor(protocolName: string): Buffer {
    const protocol = this.protocols.find((candidate) => candidate.name === protocolName);
    if (protocol === undefined) throw new Error(`member ${this.memberId} does not support protocol ${protocolName}`);
    return protocol.metadata;
  }

  sameProtocols(protocols: readonly Protocol[]): boolean {
    return (
      protocols.length === this.protocols.length &&
      protocols.every((protocol, index) => protocol.name === this.protocols[index]!.name && protocol.metadata.equals(this.protocols[index]!.metadata))
    );
  }
}

export class Group {
  state: GroupState = 'Empty';
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  readonly members = new Map<string, Member>();
  /** group.instance.id → member id, for static members (KIP-345). */
  readonly staticMembers = new Map<string, string>();
  /** When the group entered its current state (offsets of an empty group expire from here). */
  stateTimestamp = Date.now();
  /** The timer completing the current join phase (rebalance timeout, or the initial delay). */
  joinTimer: NodeJS.Timeout | null = null;
  /** True while the initial delay for a new group runs (group.initial.rebalance.delay.ms). */
  initialDelayRunning = false;

  constructor(readonly groupId: string) {}

  is(state: GroupState): boolean {
    return this.state === state;
  }

  transitionTo(next: GroupState): void {
    if (!TRANSITIONS[this.state].includes(next)) {
      throw new Error(`group ${this.groupId}: illegal transition ${this.state} → ${next}`);
    }
    this.state = next;
    this.stateTimestamp = Date.now();
  }

  /** The longest rebalance timeout of the members: how long a join phase may wait. */
  get rebalanceTimeoutMs(): number {
    let longest = 0;
    for (const member of this.members.values()) longest = Math.max(longest, member.rebalanceTimeoutMs);
    return longest;
  }

  /** Whether a joining member's protocols fit the group: same type, and at least one protocol every member supports. */
  supportsProtocols(protocolType: string, protocols: readonly Protocol[]): boolean {
    if (this.members.size === 0) return canStartGroup(protocolType, protocols);
    if (protocolType !== this.protocolType) return false;
    return this.candidateProtocols().some((name) => protocols.some((protocol) => protocol.name === name));
  }

  /** Protocols every current member supports. */
  candidateProtocols(): string[] {
    const members = [...this.members.values()];
    if (members.length === 0) return [];
    return members[0]!.protocols.map((protocol) => protocol.name).filter((name) => members.every((member) => member.protocols.some((protocol) => protocol.name === name)));
  }

  /** Kafka's selection: each member votes for its most preferred protocol among the candidates; the most votes wins. */
  selectProtocol(): string {
    const candidates = new Set(this.candidateProtocols());
    if (candidates.size === 0) throw new Error(`group ${this.groupId}: no protocol common to all members`);
    const votes = new Map<string, number>();
    for (const member of this.members.values()) {
      const vote = member.protocols.find((protocol) => candidates.has(protocol.name))!.name;
      votes.set(vote, (votes.get(vote) ?? 0) + 1);
    }
    let best: string | null = null;
    let bestVotes = -1;
    for (const name of this.candidateProtocols()) {
      const count = votes.get(name) ?? 0;
      if (count > bestVotes) {
        best = name;
        bestVotes = count;
      }
    }
    return best!;
  }

  /** Every member has sent its JoinGroup for this rebalance (pending members are the coordinator's to count). */
  allMembersJoined(): boolean {
    for (const member of this.members.values()) if (member.awaitingJoin === null) return false;
    return true;
  }

  /** Members that have sent their JoinGroup for this rebalance (Kafka's numAwaiting). */
  awaitingJoinCount(): number {
    let count = 0;
    for (const member of this.members.values()) if (member.awaitingJoin !== null) count++;
    return count;
  }

  /** The topics the members subscribe to, when the protocol type is "consumer" and a protocol is chosen. */
  subscribedTopics(): Set<string> | null {
    if (this.protocolType !== 'consumer' || this.protocolName === null || this.members.size === 0) return null;
    const topics = new Set<string>();
    for (const member of this.members.values()) {
      const metadata = member.protocols.find((protocol) => protocol.name === this.protocolName)?.metadata;
      if (metadata === undefined) return null;
      const parsed = parseSubscriptionTopics(metadata);
      if (parsed === null) return null;
      for (const topic of parsed) topics.add(topic);
    }
    return topics;
  }
}

/** Whether a first member's protocols can start a group (an empty or not yet existing one): a type and at least one protocol. */
export function canStartGroup(protocolType: string, protocols: readonly Protocol[]): boolean {
  return protocolType !== '' && protocols.length > 0;
}

/** The topics in a ConsumerProtocolSubscription (version int16, then an int16-length string array). */
function parseSubscriptionTopics(metadata: Buffer): string[] | null {
  try {
    if (metadata.length < 6) return null;
    let at = 2;
    const count = metadata.readInt32BE(at);
    at += 4;
    if (count < 0 || count > metadata.length) return null;
    const topics: string[] = [];
    for (let index = 0; index < count; index++) {
      const length = metadata.readInt16BE(at);
      at += 2;
      if (length < 0 || at + length > metadata.length) return null;
      topics.push(metadata.toString('utf8', at, at + length));
      at += length;
    }
    return topics;
  } catch {
    return null;
  }
}
