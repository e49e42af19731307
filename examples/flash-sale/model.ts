// What the flash sale's parts agree on: the topics, the records on them, and where a user's
// results land. The order server, the processor, the test and the bench all import this file,
// so a record written by one is read by the others with the same shape.

import { keyPartition } from '../../src/protocol/partitioner.js';

/** Orders, keyed by item: every order for one item lands in one partition, so one stream task sees them all, in order. */
export const ORDERS_TOPIC = 'orders';
/** Decisions, keyed by user id: all of one user's results are in one partition, the one the page reads. */
export const ORDER_RESULTS_TOPIC = 'order-results';
/** The streams application's id: its consumer group, its transactional ids' prefix and its changelog's prefix. */
export const APPLICATION_ID = 'flash-sale';
/** The processor's state store: remaining units per item. Its changelog is `flash-sale-stock-changelog`. */
export const STOCK_STORE = 'stock';

export const ORDERS_PARTITIONS_DEFAULT = 4;
export const ORDER_RESULTS_PARTITIONS_DEFAULT = 8;
export const INITIAL_STOCK_DEFAULT = 100;

/** Bounds on what a client may send: ids are short text, and one order buys a few units at most. */
export const USER_CHARS_MAX = 64;
export const ITEM_CHARS_MAX = 64;
export const QUANTITY_MAX = 10;

/** A record of `orders` (value, JSON); its key is `item`. */
export interface Order {
  readonly orderId: string;
  readonly user: string;
  readonly item: string;
  readonly quantity: number;
  /** When the order server took it (ms since the epoch). */
  readonly placedAtMs: number;
}

export type OrderStatus = 'accepted' | 'rejected';

/** A record of `order-results` (value, JSON); its key is `user`. */
export interface OrderResult {
  readonly orderId: string;
  readonly user: string;
  readonly item: string;
  readonly quantity: number;
  readonly status: OrderStatus;
  /** Units of the item left after this decision. */
  readonly remaining: number;
  readonly placedAtMs: number;
  readonly decidedAtMs: number;
}

/** The partition of `order-results` that holds `user`'s results: Kafka's default partitioner (murmur2 of the key), as the streams runtime's producer uses. */
export function resultPartition(user: string, partitionCount: number): number {
  return keyPartition(Buffer.from(user, 'utf8'), partitionCount);
}

export class OrderRequestError extends Error {}

const isIdText = (value: unknown, charsMax: number): value is string => typeof value === 'string' && value.length >= 1 && value.length <= charsMax && !/[\u0000-\u001f]/.test(value);

/** Checks a POST /orders body ({user, item, quantity?}); throws OrderRequestError naming the field. */
export function parseOrderRequest(body: unknown): { user: string; item: string; quantity: number } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new OrderRequestError('the body is a JSON object {user, item, quantity?}');
  const { user, item, quantity = 1 } = body as Record<string, unknown>;
  if (!isIdText(user, USER_CHARS_MAX)) throw new OrderRequestError(`user is a string of 1 to ${USER_CHARS_MAX} characters`);
  if (!isIdText(item, ITEM_CHARS_MAX)) throw new OrderRequestError(`item is a string of 1 to ${ITEM_CHARS_MAX} characters`);
  if (!(Number.isInteger(quantity) && (quantity as number) >= 1 && (quantity as number) <= QUANTITY_MAX)) throw new OrderRequestError(`quantity is an integer from 1 to ${QUANTITY_MAX}`);
  return { user, item, quantity: quantity as number };
}

/** The decision for one order given the units left (`remaining`); pure, so the test driver and the runtime decide alike. */
export function decide(order: Order, remaining: number, decidedAtMs: number): OrderResult {
  const status: OrderStatus = order.quantity <= remaining ? 'accepted' : 'rejected';
  return {
    orderId: order.orderId,
    user: order.user,
    item: order.item,
    quantity: order.quantity,
    status,
    remaining: status === 'accepted' ? remaining - order.quantity : remaining,
    placedAtMs: order.placedAtMs,
    decidedAtMs,
  };
}
