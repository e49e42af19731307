// Creates the flash sale's two topics before anything uses them, so their partition counts are
// the ones chosen here rather than an auto-created topic's one partition: the order server maps
// users to result partitions by the count it reads, and the processor runs one task per `orders`
// partition. The processor's changelog (flash-sale-stock-changelog) is its runtime's to create.

import { Admin } from '@platformatic/kafka';
import { ORDER_RESULTS_PARTITIONS_DEFAULT, ORDER_RESULTS_TOPIC, ORDERS_PARTITIONS_DEFAULT, ORDERS_TOPIC } from './model.js';

export interface TopicOptions {
  readonly ordersPartitions?: number;
  readonly resultPartitions?: number;
}

/** Creates `orders` and `order-results` (replication factor: the broker's default); topics that exist already are left as they are. */
export async function createFlashSaleTopics(bootstrap: string, options: TopicOptions = {}): Promise<void> {
  const admin = new Admin({ clientId: 'flash-sale-topics', bootstrapBrokers: [bootstrap] });
  try {
    const existing = new Set(await admin.listTopics());
    const wanted: Array<[string, number]> = [
      [ORDERS_TOPIC, options.ordersPartitions ?? ORDERS_PARTITIONS_DEFAULT],
      [ORDER_RESULTS_TOPIC, options.resultPartitions ?? ORDER_RESULTS_PARTITIONS_DEFAULT],
    ];
    for (const [topic, partitions] of wanted) {
      if (existing.has(topic)) continue;
      await admin.createTopics({ topics: [topic], partitions, replicas: -1 });
    }
  } finally {
    await admin.close();
  }
}
