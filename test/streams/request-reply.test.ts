// Request/reply over Kafka (issue 18, point 3; src/streams/request-reply.ts) against a real
// broker process, with @platformatic/kafka underneath:
//   - 10,000 concurrent requests from two requesters sharing one reply topic (one reply
//     partition each, kafka_replyPartition) all resolve, each with its own reply (the
//     responders double the request's id), and no reply reaches the other requester;
//   - a request nobody serves rejects after its timeout with RequestTimeoutError naming the
//     topic, the correlation id and the timeout;
//   - a handler that throws gives an error reply: the caller's promise rejects with
//     RemoteHandlerError carrying the handler's message, other requests still resolve;
//   - max.pending.requests: the request beyond it is refused at once with
//     TooManyPendingRequestsError, and once replies free the room a new request goes through;
//   - the wire contract, with kafkajs as the foreign side: a responder written against Spring's
//     headers alone (16-byte kafka_correlationId echoed, kafka_replyTopic, kafka_replyPartition
//     a 4-byte int) answers our requester; a request with NestJS's decimal kafka_replyPartition
//     is answered by our responder on that partition.

import t, { type Test } from 'tap';
import { Admin } from '@platformatic/kafka';
import kafkajs from 'kafkajs';
import {
  RemoteHandlerError,
  RequestTimeoutError,
  RequesterClosedError,
  TooManyPendingRequestsError,
  createRequester,
  serveRequests,
  type Requester,
  type Responder,
} from '../../src/streams/request-reply.js';
import { Serdes } from '../../src/streams/serdes.js';
import { BrokerProcess } from '../helpers/broker-process.js';

interface Question {
  readonly id: number;
}
interface Answer {
  readonly id: number;
  readonly doubled: number;
}

const broker = await BrokerProcess.start(t, { overrides: { 'group.initial.rebalance.delay.ms': 0, 'offsets.topic.num.partitions': 2 } });
const bootstrap = broker.bootstrap;
const admin = new Admin({ clientId: 'request-reply-test-admin', bootstrapBrokers: [bootstrap] });
t.teardown(() => admin.close());
await admin.createTopics({ topics: ['doubler-requests', 'nobody-requests'], partitions: 4, replicas: 1 });
await admin.createTopics({ topics: ['replies', 'interop-replies'], partitions: 2, replicas: 1 });
await admin.createTopics({ topics: ['interop-requests'], partitions: 1, replicas: 1 });
const kafka = new kafkajs.Kafka({ brokers: [bootstrap], clientId: 'request-reply-test-kafkajs', logLevel: kafkajs.logLevel.NOTHING });

const errors: Error[] = [];
const onError = (error: Error): void => void errors.push(error);

const responders: Responder<Question, Answer>[] = [];
/** Two responders in one group: the requests' four partitions are spread over them. */
for (let index = 0; index < 2; index++) {
  responders.push(
    await serveRequests<Question, Answer>({
      'bootstrap.servers': bootstrap,
      'group.id': 'doublers',
      'request.topic': 'doubler-requests',
      requestSerde: Serdes.Json<Question>(),
      replySerde: Serdes.Json<Answer>(),
      handler: async (question) => {
        if (question.id < 0) throw new Error(`negative id ${question.id} refused`);
        return { id: question.id, doubled: question.id * 2 };
      },
      onError,
    }),
  );
}
t.teardown(() => Promise.all(responders.map((responder) => responder.close())));

async function requester(t: Test, config: { requestTopic: string; replyPartition: number; timeoutMs?: number; maxPending?: number }): Promise<Requester<Question, Answer>> {
  const created = await createRequester<Question, Answer>({
    'bootstrap.servers': bootstrap,
    'request.topic': config.requestTopic,
    'reply.topic': 'replies',
    'reply.partition': config.replyPartition,
    ...(config.timeoutMs === undefined ? {} : { 'reply.timeout.ms': config.timeoutMs }),
    ...(config.maxPending === undefined ? {} : { 'max.pending.requests': config.maxPending }),
    requestSerde: Serdes.Json<Question>(),
    replySerde: Serdes.Json<Answer>(),
    onError,
  });
  t.teardown(() => created.close());
  return created;
}

t.test('10,000 concurrent requests from two requesters sharing a reply topic all get their own reply', async (t) => {
  const requesters = [await requester(t, { requestTopic: 'doubler-requests', replyPartition: 0, timeoutMs: 30_000 }), await requester(t, { requestTopic: 'doubler-requests', replyPartition: 1, timeoutMs: 30_000 })];
  const started = performance.now();
  const answers = await Promise.all(Array.from({ length: 10_000 }, (_, id) => requesters[id % 2]!.request({ id })));
  const elapsedMs = performance.now() - started;
  const wrong = answers.filter((answer, id) => answer.id !== id || answer.doubled !== id * 2);
  t.equal(answers.length, 10_000, 'every request resolved');
  t.same(wrong.slice(0, 5), [], 'each reply is the one for its request (id and id*2)');
  t.same(
    requesters.map((each) => each.stats.unmatchedReplies),
    [0, 0],
    'no reply reached the other requester (each reads only its reply partition)',
  );
  t.same(
    requesters.map((each) => each.stats.replied),
    [5_000, 5_000],
    'each requester got its 5,000 replies',
  );
  t.ok(
    responders.every((responder) => responder.stats.handled > 0),
    `both responders of the group served requests (${responders.map((responder) => responder.stats.handled).join(' + ')})`,
  );
  t.same(errors, [], 'no errors reported');
  t.comment(`10,000 requests in ${elapsedMs.toFixed(0)} ms (${((10_000 / elapsedMs) * 1000).toFixed(0)} requests/s)`);
});

t.test('a request nobody serves rejects after its timeout with RequestTimeoutError', async (t) => {
  const alone = await requester(t, { requestTopic: 'nobody-requests', replyPartition: 0, timeoutMs: 800 });
  const started = performance.now();
  const error = await alone.request({ id: 1 }).then(
    () => null,
    (rejection: unknown) => rejection,
  );
  const elapsedMs = performance.now() - started;
  t.type(error, RequestTimeoutError, 'rejected with RequestTimeoutError');
  const timeout = error as RequestTimeoutError;
  t.match(timeout.message, /^no reply to request [0-9a-f]{32} sent to topic "nobody-requests" within 800 ms \(replies expected on "replies"\): is a responder serving "nobody-requests"\?$/, 'the message names the correlation id, the topic and the timeout');
  t.equal(timeout.code, 'SPATE_REQUEST_TIMEOUT');
  t.equal(timeout.topic, 'nobody-requests');
  t.equal(timeout.timeoutMs, 800);
  t.ok(elapsedMs >= 800 - 5, `rejected once the timeout had passed (${elapsedMs.toFixed(0)} ms)`);
  t.equal(alone.pendingRequests, 0, 'the request is no longer pending');
  t.comment(timeout.message);
});

t.test('a handler that throws gives an error reply: the caller gets the handler\'s message', async (t) => {
  const caller = await requester(t, { requestTopic: 'doubler-requests', replyPartition: 0, timeoutMs: 10_000 });
  const [refused, accepted] = await Promise.allSettled([caller.request({ id: -7 }), caller.request({ id: 21 })]);
  t.equal(refused.status, 'rejected');
  const error = (refused as PromiseRejectedResult).reason as RemoteHandlerError;
  t.type(error, RemoteHandlerError, 'rejected with RemoteHandlerError');
  t.equal(error.message, 'negative id -7 refused', "the handler's message");
  t.equal(error.topic, 'doubler-requests');
  t.match(error.correlationId, /^[0-9a-f]{32}$/);
  t.same(accepted, { status: 'fulfilled', value: { id: 21, doubled: 42 } }, 'the other request still resolves');
  t.equal(caller.stats.errorReplies, 1);
});

t.test('max.pending.requests: beyond it a request is refused at once; room comes back with the replies', async (t) => {
  const bounded = await requester(t, { requestTopic: 'doubler-requests', replyPartition: 1, timeoutMs: 10_000, maxPending: 3 });
  const waiting = [1, 2, 3].map((id) => bounded.request({ id }));
  t.equal(bounded.pendingRequests, 3, 'three requests wait for replies');
  const refused = await bounded.request({ id: 4 }).then(
    () => null,
    (rejection: unknown) => rejection,
  );
  t.type(refused, TooManyPendingRequestsError, 'the fourth is refused with TooManyPendingRequestsError');
  t.equal((refused as TooManyPendingRequestsError).message, 'request to topic "doubler-requests" refused: 3 requests are already waiting for replies (max.pending.requests)');
  t.equal((refused as TooManyPendingRequestsError).maxPendingRequests, 3);
  t.same(
    (await Promise.all(waiting)).map((answer) => answer.doubled),
    [2, 4, 6],
    'the three waiting requests resolve',
  );
  t.same(await bounded.request({ id: 5 }), { id: 5, doubled: 10 }, 'then a new request goes through');
  t.equal(bounded.stats.refused, 1);

  // close() rejects what still waits, with RequesterClosedError.
  const lingering = bounded.request({ id: 6 }, { timeoutMs: 60_000 });
  const closing = bounded.close();
  await t.rejects(lingering, RequesterClosedError, 'close() rejects a waiting request with RequesterClosedError');
  await closing;
});

t.test('the wire contract: a kafkajs responder speaking Spring\'s headers answers our requester', async (t) => {
  const caller = await requester(t, { requestTopic: 'interop-requests', replyPartition: 1, timeoutMs: 15_000 });
  const foreign = kafka.consumer({ groupId: 'foreign-responder', maxWaitTimeInMs: 100 });
  const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  t.teardown(() => Promise.all([foreign.disconnect(), producer.disconnect()]));
  await producer.connect();
  await foreign.connect();
  await foreign.subscribe({ topic: 'interop-requests', fromBeginning: true });
  const seen: Array<Record<string, Buffer>> = [];
  await foreign.run({
    eachMessage: async ({ message }) => {
      const headers = message.headers as Record<string, Buffer>;
      seen.push(headers);
      const question = JSON.parse(message.value!.toString('utf8')) as Question;
      await producer.send({
        topic: headers['kafka_replyTopic']!.toString('utf8'),
        messages: [{ partition: headers['kafka_replyPartition']!.readInt32BE(0), headers: { kafka_correlationId: headers['kafka_correlationId']! }, value: JSON.stringify({ id: question.id, doubled: question.id * 2 }) }],
      });
    },
  });
  t.same(await caller.request({ id: 5 }), { id: 5, doubled: 10 }, 'the reply of the foreign responder resolves the request');
  const headers = seen[0]!;
  t.equal(headers['kafka_correlationId']!.length, 16, 'kafka_correlationId: 16 bytes, as Spring\'s UUID bytes');
  t.equal(headers['kafka_replyTopic']!.toString('utf8'), 'replies', 'kafka_replyTopic: the reply topic');
  t.same([...headers['kafka_replyPartition']!], [0, 0, 0, 1], 'kafka_replyPartition: a 4-byte big-endian int');
});

t.test('a request with NestJS\'s decimal kafka_replyPartition is answered on that partition', async (t) => {
  const producer = kafka.producer({ createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
  const reader = kafka.consumer({ groupId: 'nest-style-reader', maxWaitTimeInMs: 100 });
  t.teardown(() => Promise.all([producer.disconnect(), reader.disconnect()]));
  await producer.connect();
  await producer.send({
    topic: 'doubler-requests',
    messages: [{ value: JSON.stringify({ id: 8 }), headers: { kafka_correlationId: 'nest-correlation-1', kafka_replyTopic: 'interop-replies', kafka_replyPartition: '1' } }],
  });
  await reader.connect();
  await reader.subscribe({ topic: 'interop-replies', fromBeginning: true });
  const reply = await new Promise<{ partition: number; value: string; correlationId: string }>((resolve, reject) => {
    reader
      .run({
        eachMessage: async ({ partition, message }) => resolve({ partition, value: message.value!.toString('utf8'), correlationId: (message.headers as Record<string, Buffer>)['kafka_correlationId']!.toString('utf8') }),
      })
      .catch(reject);
  });
  t.same(reply, { partition: 1, value: JSON.stringify({ id: 8, doubled: 16 }), correlationId: 'nest-correlation-1' }, 'the reply: on partition 1 of the named topic, the correlation id echoed');
});
