// The flash sale's topology (examples/flash-sale/processor.ts buildFlashSaleTopology) in the
// streams library's TopologyTestDriver, without a broker: orders keyed by item, decided against
// the stock store, results keyed by user on order-results; per-item stocks; an order for more
// units than are left is rejected without using any; and a restart restores the stock from the
// changelog (what the end-to-end test does with a real kill -9, here record by record).

import t from 'tap';
import { Serdes, TopologyTestDriver } from '../../src/streams/index.js';
import { buildFlashSaleTopology } from '../../examples/flash-sale/processor.js';
import { APPLICATION_ID, ORDER_RESULTS_TOPIC, ORDERS_TOPIC, STOCK_STORE, type Order, type OrderResult } from '../../examples/flash-sale/model.js';

t.test('orders are accepted until the stock runs out, per item, and the stock survives a restart', async (t) => {
  const driver = new TopologyTestDriver(buildFlashSaleTopology({ initialStock: 3, stockPerItem: { rare: 1 } }), { applicationId: APPLICATION_ID, partitions: 4 });
  t.teardown(() => driver.close());
  const orders = driver.createInputTopic<string, Order>(ORDERS_TOPIC, Serdes.String, Serdes.Json<Order>());
  const results = driver.createOutputTopic<string, OrderResult>(ORDER_RESULTS_TOPIC, Serdes.String, Serdes.Json<OrderResult>());
  let id = 0;
  const order = (user: string, item: string, quantity = 1): void => orders.pipeInput(item, { orderId: `o${++id}`, user, item, quantity, placedAtMs: 1 });
  const decided = (): string[] => results.readKeyValuesToList().map(({ key, value }) => `${key} ${value.orderId} ${value.item}x${value.quantity} ${value.status} ${value.remaining}`);

  order('ann', 'tee');
  order('bob', 'tee', 2);
  order('cat', 'rare');
  order('dan', 'rare');
  t.same(decided(), ['ann o1 teex1 accepted 2', 'bob o2 teex2 accepted 0', 'cat o3 rarex1 accepted 0', 'dan o4 rarex1 rejected 0'], 'per-item stocks: 3 tee, 1 rare');

  order('eve', 'cap', 2);
  order('fay', 'cap', 2);
  order('gus', 'cap');
  t.same(decided(), ['eve o5 capx2 accepted 1', 'fay o6 capx2 rejected 1', 'gus o7 capx1 accepted 0'], 'an order for more than is left is rejected and uses nothing');
  t.same([...driver.getKeyValueStore<string, number>(STOCK_STORE).all()].sort(), [['cap', 0], ['rare', 0], ['tee', 0]], 'the store holds the units left');

  order('hal', 'hat', 2);
  driver.restartTasks();
  order('ivy', 'hat', 2);
  order('jon', 'hat');
  t.same(decided(), ['hal o8 hatx2 accepted 1', 'ivy o9 hatx2 rejected 1', 'jon o10 hatx1 accepted 0'], 'after a restart the stock is the one restored from the changelog, not the initial one');
  t.ok(driver.writtenTo(`${APPLICATION_ID}-${STOCK_STORE}-changelog`).length > 0, 'the store writes went to flash-sale-stock-changelog');
});
