// The admin UI's security pages (src/ui/pages/security-*.tsx) in Debian's Chromium against a broker
// with the ACL authorizer and SCRAM: an operator (a super user) creates a user with
// SCRAM-SHA-256, two ACLs and a produce quota in the UI; `spate users list`, `spate acls list` and
// `spate quotas describe` (DescribeClientQuotas on the Kafka port) show them; the new user logs in
// on the Kafka port with kafkajs (SCRAM-SHA-256), produces and consumes where the ACLs allow, is
// refused where they do not, and is throttled by the quota (spate_throttle_time_seconds_total);
// the ACL filter by principal and resource; the quota and then the user removed in the UI, which
// the CLI and a login on the Kafka port see.

import kafkajs from 'kafkajs';
import t from 'tap';
import { json as cliJson, spate } from '../cli/fixtures/spate.js';
import { OPERATOR, openUi, startUiBroker } from '../helpers/admin-ui.js';
import { launchChromium } from '../helpers/browser.js';

const { Kafka, logLevel } = kafkajs;
const browser = await launchChromium(t);
const ZOE = { user: 'zoe', password: 'zoe-secret' };

async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

t.test('users, ACLs and quotas made in the UI: seen by the CLI, enforced on the Kafka port', async (t) => {
  const ui = await startUiBroker(t);
  const bootstrap = `127.0.0.1:${ui.plainPort}`;
  const cli = async (...args: string[]): Promise<any> => cliJson(await spate(bootstrap, args));
  const admin = new Kafka({ brokers: [bootstrap], clientId: 'security-ui-test', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  t.teardown(() => admin.disconnect());
  await admin.createTopics({ topics: [{ topic: 'zoe-orders', numPartitions: 1 }, { topic: 'payroll', numPartitions: 1 }], waitForLeaders: true });

  // ---- the user ----
  const { page, pageErrors, consoleErrors } = await openUi(browser, ui.httpUrl, OPERATOR, '/security/users');
  await page.getByTestId('user-name').fill(ZOE.user);
  await page.getByTestId('user-password').fill(ZOE.password);
  await page.getByTestId('user-mechanism').selectOption('SCRAM-SHA-256');
  await page.getByTestId('user-create').click();
  await page.getByTestId(`user-row-${ZOE.user}`).waitFor();
  t.equal(await page.getByTestId(`user-mechanisms-${ZOE.user}`).textContent(), 'SCRAM-SHA-256 (4096 iterations)');
  t.same(
    (await cli('users', 'list', '--json')).find((user: { user: string }) => user.user === ZOE.user),
    { user: ZOE.user, credentials: [{ mechanism: 'SCRAM-SHA-256', iterations: 4096 }] },
    'spate users list shows the user made in the UI',
  );

  // ---- the ACLs: everything on the topic zoe-orders, READ on groups starting zoe- ----
  await page.getByTestId('security-nav-acls').click();
  await page.getByTestId('acls-table').waitFor();
  const addAcl = async (acl: { operation: string; resourceType: string; name: string; patternType: string }): Promise<void> => {
    await page.getByTestId('acl-principal').fill(`User:${ZOE.user}`);
    await page.getByTestId('acl-operation').selectOption(acl.operation);
    await page.getByTestId('acl-resource-type').selectOption(acl.resourceType);
    await page.getByTestId('acl-resource-name').fill(acl.name);
    await page.getByTestId('acl-pattern-type').selectOption(acl.patternType);
    await page.getByTestId('acl-add').click();
    await page.getByTestId('notice').filter({ hasText: `on ${acl.resourceType} ${acl.name}` }).waitFor();
  };
  await addAcl({ operation: 'ALL', resourceType: 'TOPIC', name: 'zoe-orders', patternType: 'LITERAL' });
  await addAcl({ operation: 'READ', resourceType: 'GROUP', name: 'zoe-', patternType: 'PREFIXED' });
  await page.getByTestId('acl-filter-principal').fill(`User:${ZOE.user}`);
  await page.getByTestId('acl-filter-apply').click();
  await until(async () => (await page.locator('[data-testid^="acl-row-"]').count()) === 2, 'the filter by principal shows zoe\'s two ACLs');
  t.match(new URL(page.url()).hash, /principal=User%3Azoe/, 'the filter is in the URL');
  await page.getByTestId('acl-filter-type').selectOption('GROUP');
  await page.getByTestId('acl-filter-name').fill('zoe-billing');
  await page.getByTestId('acl-filter-apply').click();
  await until(async () => (await page.locator('[data-testid^="acl-row-"]').count()) === 1, 'the filter by resource (the groups ACLs that apply to zoe-billing)');
  t.match(await page.getByTestId('acls-table').textContent(), /PREFIXED.*READ/, 'the prefixed group ACL applies to zoe-billing');
  const cliAcls: { resourceType: string; name: string; patternType: string; acls: { principal: string; operation: string }[] }[] = await cli('acls', 'list', '--principal', `User:${ZOE.user}`, '--json');
  t.same(
    cliAcls.map((binding) => [binding.resourceType, binding.name, binding.patternType, binding.acls.map((entry) => entry.operation)]).sort(),
    [
      ['GROUP', 'zoe-', 'PREFIXED', ['READ']],
      ['TOPIC', 'zoe-orders', 'LITERAL', ['ALL']],
    ],
    'spate acls list shows the ACLs added in the UI',
  );

  // ---- the quota ----
  await page.getByTestId('security-nav-quotas').click();
  await page.getByTestId('quota-user').fill(ZOE.user);
  await page.getByTestId('quota-key').selectOption('producer_byte_rate');
  await page.getByTestId('quota-value').fill('2000');
  await page.getByTestId('quota-set').click();
  await page.getByTestId('quotas-table').filter({ hasText: `user ${ZOE.user}` }).waitFor();
  t.same(await cli('quotas', 'describe', '--user', ZOE.user, '--json'), [{ entity: { user: ZOE.user }, configs: { producer_byte_rate: 2000 } }], 'spate quotas describe (DescribeClientQuotas) shows the quota');

  // ---- the Kafka port, as zoe ----
  const asZoe = new Kafka({
    brokers: [`127.0.0.1:${ui.saslPort}`],
    clientId: 'zoe-app',
    logLevel: logLevel.NOTHING,
    sasl: { mechanism: 'scram-sha-256', username: ZOE.user, password: ZOE.password },
    retry: { retries: 0 },
  });
  const refusedProducer = asZoe.producer({ retry: { retries: 0 } });
  await refusedProducer.connect();
  t.teardown(() => refusedProducer.disconnect());
  await t.rejects(refusedProducer.send({ topic: 'payroll', acks: -1, messages: [{ value: 'raise' }] }), /authoriz/i, 'zoe is refused on payroll');
  await refusedProducer.disconnect();
  // 30 KB against 2,000 B/s over the quota's 10 s window (3,000 B/s): throttled. Its own
  // connection, which the broker holds for the throttle time (KIP-219) once the answer is out.
  const producer = asZoe.producer({ retry: { retries: 0 } });
  await producer.connect();
  t.teardown(() => producer.disconnect());
  await producer.send({ topic: 'zoe-orders', acks: -1, messages: Array.from({ length: 30 }, (_, index) => ({ value: `${index}`.padEnd(1000, '.') })) });
  t.pass('zoe produces to zoe-orders');
  const metrics = await (await fetch(`${ui.httpUrl}/metrics`)).text();
  const throttle = /^spate_throttle_time_seconds_total\{user="zoe"\} (\S+)$/m.exec(metrics);
  t.ok(throttle !== null && Number(throttle[1]) > 0, `the quota throttled zoe (${throttle?.[0] ?? `no series: ${metrics.split('\n').filter((line) => line.includes('throttle')).join(' | ')}`})`);

  const consumer = asZoe.consumer({ groupId: 'zoe-billing', sessionTimeout: 10_000, rebalanceTimeout: 5_000 });
  await consumer.connect();
  t.teardown(() => consumer.disconnect());
  await consumer.subscribe({ topics: ['zoe-orders'], fromBeginning: true });
  let consumed = 0;
  await consumer.run({ eachMessage: async () => void consumed++ });
  await until(() => consumed === 30, 'zoe consumes zoe-orders in group zoe-billing');
  t.pass('zoe consumes in a group her prefixed ACL allows');
  await consumer.disconnect();
  const outsider = asZoe.consumer({ groupId: 'payroll-readers', retry: { retries: 0 } });
  await outsider.connect();
  t.teardown(() => outsider.disconnect());
  await outsider.subscribe({ topics: ['zoe-orders'], fromBeginning: true });
  const refused = new Promise<string>((resolve) => {
    outsider.on(outsider.events.CRASH, (event) => resolve(String((event.payload as { error: Error }).error.message)));
  });
  await outsider.run({ eachMessage: async () => undefined });
  // kafkajs reports "Failed to find group coordinator"; the broker's metrics say why.
  t.ok(await refused, 'a group outside the ACL: the consumer fails');
  const errors = await (await fetch(`${ui.httpUrl}/metrics`)).text();
  t.match(errors, /^spate_request_errors_total\{api="FindCoordinator",error="GROUP_AUTHORIZATION_FAILED"\} [1-9]/m, 'refused GROUP_AUTHORIZATION_FAILED');

  // ---- removed in the UI ----
  const row = page.locator('[data-testid^="quota-row-"]').filter({ hasText: `user ${ZOE.user}` });
  const index = (await row.getAttribute('data-testid'))!.replace('quota-row-', '');
  await page.getByTestId(`quota-remove-${index}`).click();
  await page.getByTestId('confirm-ok').click();
  await page.getByTestId('notice').filter({ hasText: 'removed' }).waitFor();
  t.same(await cli('quotas', 'describe', '--user', ZOE.user, '--json'), [], 'spate sees the quota removed');

  await page.getByTestId('security-nav-users').click();
  await page.getByTestId(`user-delete-${ZOE.user}`).click();
  await page.getByTestId('confirm-ok').click();
  await page.getByTestId(`user-row-${ZOE.user}`).waitFor({ state: 'detached' });
  t.notOk((await cli('users', 'list', '--json')).some((user: { user: string }) => user.user === ZOE.user), 'spate no longer lists zoe');
  const late = asZoe.producer({ retry: { retries: 0 } });
  await t.rejects(late.connect(), /SASL|authentic/i, 'zoe can no longer log in on the Kafka port');
  t.same(pageErrors, [], 'no page errors');
  t.same(consoleErrors, [], 'no console errors');
});
