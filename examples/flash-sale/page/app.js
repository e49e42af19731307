// The flash sale page's logic (plain JavaScript for the browser; the order server serves it as is).
//
// 1. GET /api/session?user=U: where U's results will be (a partition of order-results, at or
//    after an offset read now) and the broker's WebSocket URL.
// 2. Subscribe to that partition from that offset with spate/ws-client (read_committed: a result
//    of an aborted transaction never shows). Only then the Buy button is enabled, so every order
//    placed from here has its result at or after the subscription's start.
// 3. POST /orders; the result is the record keyed by U carrying the order's id. It may arrive
//    before the POST's answer (the processor is fast), so results are kept by order id until the
//    order they answer is known.
import { SpateConsumer } from '/ws-client.js';

/** Results kept for orders this page has not placed yet (or other tabs' orders of the same user); oldest dropped first. */
const RESULTS_KEPT_MAX = 1000;
/** Orders placed and not yet decided; past it the page places no more until results come. */
const PENDING_MAX = 100;
/** Rows shown; older ones are removed, so a long session stays small. */
const ROWS_MAX = 200;

const params = new URLSearchParams(location.search);
const user = params.get('user') || localStorage.getItem('flash-sale-user') || `user-${Math.random().toString(36).slice(2, 8)}`;
localStorage.setItem('flash-sale-user', user);

const $ = (id) => document.getElementById(id);
const results = new Map(); // orderId → result value, not yet matched to a placed order
const orders = new Map(); // orderId → { row, startedAt, item, quantity, resolve }
const flashSale = { user, ready: false, latencies: [], results: [], placeOrder, errors: [] };
window.flashSale = flashSale;

function showError(message) {
  flashSale.errors.push(message);
  $('errors').textContent = message;
}

function render(order, result) {
  const cell = order.row.querySelector('.result');
  cell.className = `result ${result.status}`;
  cell.textContent = result.status === 'accepted'
    ? `Accepted: ${result.quantity} × ${result.item} is yours (${result.remaining} left)`
    : result.remaining === 0 ? 'Rejected: sold out' : `Rejected: only ${result.remaining} left`;
  const latencyMs = performance.now() - order.startedAt;
  order.row.querySelector('.ms').textContent = latencyMs.toFixed(1);
  flashSale.latencies.push(latencyMs);
  flashSale.results.push(result);
  order.resolve({ ...result, latencyMs, postAnswerMs: order.postAnswerMs });
}

function onResult(result) {
  const order = orders.get(result.orderId);
  if (order === undefined) {
    results.set(result.orderId, result);
    if (results.size > RESULTS_KEPT_MAX) results.delete(results.keys().next().value);
    return;
  }
  orders.delete(result.orderId);
  render(order, result);
}

/** Places an order; resolves with its result once shown, with latencyMs (POST sent → result shown) and postAnswerMs (POST sent → its 202), for the bench. */
async function placeOrder(item, quantity) {
  if (orders.size >= PENDING_MAX) throw new Error(`${PENDING_MAX} orders are waiting for their results; wait for them`);
  const startedAt = performance.now();
  const row = document.createElement('tr');
  row.innerHTML = '<td class="id">…</td><td class="item"></td><td class="qty"></td><td class="result pending">placing…</td><td class="ms"></td>';
  row.querySelector('.item').textContent = item;
  row.querySelector('.qty').textContent = String(quantity);
  $('orders').prepend(row);
  while ($('orders').children.length > ROWS_MAX) $('orders').lastElementChild.remove();
  const response = await fetch('/orders', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user, item, quantity }) });
  const answer = await response.json();
  if (response.status !== 202) {
    row.querySelector('.result').textContent = `not taken: ${answer.error}`;
    throw new Error(answer.error);
  }
  const postAnswerMs = performance.now() - startedAt;
  row.querySelector('.id').textContent = answer.orderId.slice(0, 8);
  row.querySelector('.result').textContent = 'waiting for the decision…';
  return new Promise((resolve) => {
    const order = { row, startedAt, postAnswerMs, item, quantity, resolve };
    const early = results.get(answer.orderId);
    if (early !== undefined) {
      results.delete(answer.orderId);
      render(order, early);
    } else {
      orders.set(answer.orderId, order);
    }
  });
}

async function start() {
  $('user').textContent = user;
  const response = await fetch(`/api/session?user=${encodeURIComponent(user)}`);
  const session = await response.json();
  if (response.status !== 200) throw new Error(session.error);
  $('partition').textContent = `${session.topic}-${session.partition} from offset ${session.offset}`;
  for (const { item, stock } of session.items) {
    const option = document.createElement('option');
    option.value = item;
    option.textContent = `${item} (${stock} in the sale)`;
    $('item').append(option);
  }
  new SpateConsumer({
    url: session.wsUrl,
    subscription: { partitions: [{ topic: session.topic, partition: session.partition, offset: Number(session.offset) }], key: 'text', value: 'json' },
    onRecords(records) {
      // The partition holds other users' results too: only ours, by key.
      for (const record of records) if (record.key === user && record.value !== null) onResult(record.value);
    },
    onStateChange(state) {
      $('connection').textContent = state === 'ready' ? 'live' : state;
      if (state === 'ready') {
        flashSale.ready = true;
        $('buy').disabled = false;
      }
    },
    onError(error) {
      showError(`${error.code}: ${error.message}`);
    },
  });
  $('order-form').addEventListener('submit', (event) => {
    event.preventDefault();
    placeOrder($('item').value, Number($('quantity').value)).catch((error) => showError(error.message));
  });
}

start().catch((error) => showError(`could not start: ${error.message}`));
