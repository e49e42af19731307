// Kafka's timeoutMs on CreateTopics, CreatePartitions and DeleteTopics: how long the
// client will wait for the change. When it passes first, the answer is REQUEST_TIMED_OUT
// and the change goes on (Kafka's controller carries on the same way; the client sees
// the outcome in Metadata or by retrying). A timeout of 0 or less: Kafka answers at once;
// Spate waits for the outcome instead, so a client never gets an answer that says nothing.

/** `operation`'s result, or `timedOut()` once `timeoutMs` (when positive) passes first. */
export async function withinRequestTimeout<T>(operation: Promise<T>, timeoutMs: number, timedOut: () => T): Promise<T> {
  if (!(timeoutMs > 0)) return operation;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(timedOut()), Math.min(timeoutMs, 2 ** 31 - 1));
  });
  try {
    return await Promise.race([operation, expired]);
  } finally {
    clearTimeout(timer);
  }
}
