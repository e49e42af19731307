// What the request path tells the metrics (Redpanda's `*_probe`): the connection reports each
// request as it is answered, and Produce and Fetch the bytes and messages per topic. The
// interface lives here, below the network and the HTTP side, so that handlers and connections
// report without importing the metrics implementation (src/http/metrics.ts, which the broker
// plugs in); NO_PROBE is what a broker without metrics (tests that build services by hand) uses.
//
// Every method is on the hot path: an implementation does a map lookup and a counter increment,
// never string building or I/O.

export interface BrokerProbe {
  /**
   * A request's handler has settled and its response is encoded: `startedMs` is
   * performance.now() when it was read, `response` the handler's answer (its error codes are
   * counted), null when there is none to send (Produce acks=0, a connection closed instead).
   */
  requestDone(apiKey: number, startedMs: number, response: object | null): void;
  /** A request's handler threw (a broker bug; its connection is closed). */
  requestFailed(apiKey: number, startedMs: number): void;
  /** A batch (or several) appended to a topic by a client's Produce: its bytes and its records (from the batch headers). */
  produced(topic: string, bytes: number, records: number): void;
  /** Record bytes of a topic sent to a consumer (Fetch with replica id -1), as the response carries them. */
  fetched(topic: string, bytes: number): void;
  /** Records of a topic a consumer moved past (consumed-offsets.ts): the messages out. */
  consumed(topic: string, records: number): void;
  /** A request earned a throttle time (KIP-219) for this quota user. */
  throttled(user: string, ms: number): void;
}

export const NO_PROBE: BrokerProbe = {
  requestDone() {},
  requestFailed() {},
  produced() {},
  fetched() {},
  consumed() {},
  throttled() {},
};
