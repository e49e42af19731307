// Member ids handed out with MEMBER_ID_REQUIRED (KIP-394) and not yet used to join.
// Kafka keeps them inside each group, which it creates for the first JoinGroup; here they
// live outside Group objects, in one structure bounded by limits.pendingMembersMax across
// all groups, so JoinGroups for random group ids create no group and hold at most that
// many entries and timers. A pending member is forgotten after its session timeout (as in
// Kafka), or, when the structure is full and a new one arrives, the oldest is forgotten:
// its rejoin then gets UNKNOWN_MEMBER_ID and the client starts again with an empty member
// id, as it does after a session timeout.
//
// Why forget the oldest rather than refuse the newest: a real member stays pending for one
// round trip, a flood's entries for their session timeout (up to
// group.max.session.timeout.ms, 30 minutes by default). Refusing new joins while full would
// let a flood lock every new member out for that long; forgetting the oldest costs a real
// member one more round trip, and only while more than the bound's worth of joins arrive
// within its round trip.

export class PendingMembers {
  /** Pending members by member id, in the order they were added: the first is the oldest. */
  private readonly byMemberId = new Map<string, { readonly groupId: string; readonly timer: NodeJS.Timeout }>();
  private readonly countByGroup = new Map<string, number>();

  /**
   * @param capacity the most pending members kept at once
   * @param onForgotten runs when a pending member is dropped by its timeout or to make room
   *   (not when it is taken): its group may be waiting for it to complete a join.
   */
  constructor(
    private readonly capacity: number,
    private readonly onForgotten: (groupId: string, memberId: string, why: 'expired' | 'evicted') => void,
  ) {
    if (!(capacity >= 1)) throw new RangeError(`pending members capacity must be at least 1, not ${capacity}`);
  }

  get size(): number {
    return this.byMemberId.size;
  }

  /** Pending members of one group. */
  countFor(groupId: string): number {
    return this.countByGroup.get(groupId) ?? 0;
  }

  /** Records a pending member of `groupId`, forgotten after `timeoutMs`; makes room by forgetting the oldest when full. */
  add(groupId: string, memberId: string, timeoutMs: number): void {
    while (this.byMemberId.size >= this.capacity) {
      const oldest = this.byMemberId.entries().next().value!;
      this.forget(oldest[0], 'evicted');
    }
    const timer = setTimeout(() => this.forget(memberId, 'expired'), timeoutMs);
    timer.unref();
    this.byMemberId.set(memberId, { groupId, timer });
    this.countByGroup.set(groupId, this.countFor(groupId) + 1);
  }

  /** Takes out a pending member of `groupId` that rejoins or leaves; false when no such member is pending there. */
  take(groupId: string, memberId: string): boolean {
    const entry = this.byMemberId.get(memberId);
    if (entry === undefined || entry.groupId !== groupId) return false;
    this.remove(memberId, entry);
    return true;
  }

  /** Forgets, without telling anyone, the pending members of the groups `belongs` picks (their partition was unloaded). */
  forgetGroups(belongs: (groupId: string) => boolean): void {
    for (const [memberId, entry] of [...this.byMemberId]) if (belongs(entry.groupId)) this.remove(memberId, entry);
  }

  /** Forgets every pending member without telling anyone (the coordinator is stopping). */
  clear(): void {
    for (const entry of this.byMemberId.values()) clearTimeout(entry.timer);
    this.byMemberId.clear();
    this.countByGroup.clear();
  }

  private forget(memberId: string, why: 'expired' | 'evicted'): void {
    const entry = this.byMemberId.get(memberId);
    if (entry === undefined) return;
    this.remove(memberId, entry);
    this.onForgotten(entry.groupId, memberId, why);
  }

  private remove(memberId: string, entry: { readonly groupId: string; readonly timer: NodeJS.Timeout }): void {
    clearTimeout(entry.timer);
    this.byMemberId.delete(memberId);
    const count = this.countFor(entry.groupId) - 1;
    if (count > 0) this.countByGroup.set(entry.groupId, count);
    else this.countByGroup.delete(entry.groupId);
  }
}
