// Broker-wide admission of requests: the bounds that keep many connections together from
// exhausting memory, where each connection's own bounds (connection.ts) cannot.
// - queued.max.requests: requests read and not yet answered, across all connections. A
//   delayed fetch parked waiting for data does not count while it waits (Kafka keeps
//   those in its purgatory, outside the request queue).
// - queued.max.request.bytes: bytes of requests from the moment their size is known (the
//   frame is then being assembled) until their handler has finished with them.
// - limits.queuedResponseBytesMax: bytes of encoded responses not yet handed to the kernel.
//   A client that does not read its responses holds them; so while this is full, only a
//   connection with nothing queued and nothing in flight (a client that reads, between
//   requests) is admitted, one request at a time: non-readers cannot starve readers, and
//   each can add at most one more answer.
// A connection refused here stops reading (its socket is paused, so TCP pushes back on
// the client) and waits, in arrival order, to be retried when something is released.

export interface AdmissionWaiter {
  /** Try again to read requests; called when capacity was released. */
  retryAdmission(): void;
}

export interface AdmissionBounds {
  readonly requestsMax: number;
  readonly requestBytesMax: number;
  readonly responseBytesMax: number;
}

/** One admitted request's hold on the broker-wide bounds. */
export interface AdmissionTicket {
  /** The request waits for data (a delayed fetch): it stops counting against queued.max.requests until resumed. */
  park(): void;
  resume(): void;
  /** The request is answered (or abandoned): frees its count and bytes. Idempotent. */
  release(): void;
}

export class RequestAdmission {
  private requestCount = 0;
  private requestBytesHeld = 0;
  private responseBytesHeld = 0;
  private readonly waiters = new Set<AdmissionWaiter>();
  private wakeScheduled = false;

  constructor(readonly bounds: AdmissionBounds) {
    if (bounds.requestsMax < 1 || bounds.requestBytesMax < 1 || bounds.responseBytesMax < 1) {
      throw new RangeError(`admission bounds must be positive: ${JSON.stringify(bounds)}`);
    }
  }

  get requests(): number {
    return this.requestCount;
  }

  /**
   * Admits a request of `bytes` for a connection that has `ownInFlight` requests unanswered
   * and `ownResponseBytes` of responses queued, or returns null and remembers `waiter` to
   * retry it once capacity is released.
   * A single request larger than the whole byte bound is admitted when nothing else is
   * held (socket.request.max.bytes already bounds it), so it cannot wait for ever.
   */
  tryAdmit(waiter: AdmissionWaiter, bytes: number, ownInFlight: number, ownResponseBytes: number): AdmissionTicket | null {
    const bytesFit = this.requestBytesHeld + bytes <= this.bounds.requestBytesMax || this.requestBytesHeld === 0;
    const responsesFit = this.responseBytesHeld < this.bounds.responseBytesMax || (ownResponseBytes === 0 && ownInFlight === 0);
    if (this.requestCount >= this.bounds.requestsMax || !bytesFit || !responsesFit) {
      this.waiters.add(waiter);
      return null;
    }
    this.waiters.delete(waiter);
    this.requestCount++;
    this.requestBytesHeld += bytes;
    let parked = false;
    let released = false;
    return {
      park: () => {
        if (parked || released) return;
        parked = true;
        this.requestCount--;
        this.scheduleWake();
      },
      resume: () => {
        if (!parked || released) return;
        parked = false;
        this.requestCount++; // may pass the bound briefly: a woken fetch must answer, not wait again
      },
      release: () => {
        if (released) return;
        released = true;
        if (!parked) this.requestCount--;
        this.requestBytesHeld -= bytes;
        this.scheduleWake();
      },
    };
  }

  /** A connection's encoded responses grew (positive) or were handed to the kernel (negative). */
  responseBytesChanged(delta: number): void {
    this.responseBytesHeld += delta;
    if (delta < 0) this.scheduleWake();
  }

  /** The waiter is gone (its connection closed). */
  forget(waiter: AdmissionWaiter): void {
    this.waiters.delete(waiter);
  }

  /** Retries waiters in arrival order, once per turn of the event loop however many releases came. */
  private scheduleWake(): void {
    if (this.wakeScheduled || this.waiters.size === 0) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      for (const waiter of [...this.waiters]) {
        if (this.requestCount >= this.bounds.requestsMax) break;
        this.waiters.delete(waiter);
        waiter.retryAdmission(); // re-adds itself if still refused
      }
    });
  }
}
