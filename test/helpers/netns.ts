// A network namespace joined to the test's by one veth pair, made with iproute2 (as root) and
// removed on teardown: a broker started inside it (`BrokerProcess` `netns`) talks to the rest
// of the cluster only over that link, which the test cuts and heals with `ip link set down/up`
// — a network partition, while a client started inside the namespace still reaches the broker.

import { execFileSync } from 'node:child_process';
import type { Teardownable } from './broker-process.js';

export interface NamespaceLink {
  /** The namespace's name (for `ip netns exec`, `BrokerProcess` `netns`). */
  readonly name: string;
  /** This side's address on the link: the brokers and ZooKeeper outside listen here. */
  readonly outsideAddress: string;
  /** The namespace's address: a broker inside listens here. */
  readonly insideAddress: string;
  /** Takes the link down: nothing crosses between the namespace and the rest. */
  cut(): void;
  /** Brings it back. */
  heal(): void;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Whether this process may make network namespaces (root, iproute2). */
export function canMakeNamespaces(): boolean {
  try {
    const probe = `spate-probe-${process.pid}`;
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
    return true;
  } catch {
    return false;
  }
}

export function namespaceLink(t: Teardownable): NamespaceLink {
  const id = process.pid % 100_000;
  const name = `spate-${id}`;
  const outside = `spo${id}`;
  const inside = `spi${id}`;
  // A /30 of its own per test process, so tests in parallel do not collide.
  const subnet = `10.79.${id % 250}`;
  const outsideAddress = `${subnet}.1`;
  const insideAddress = `${subnet}.2`;
  ip('netns', 'add', name);
  t.teardown(() => {
    try {
      ip('link', 'del', outside);
    } catch {
      // gone with the namespace already
    }
    ip('netns', 'del', name);
  });
  ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
  ip('link', 'set', inside, 'netns', name);
  ip('addr', 'add', `${outsideAddress}/30`, 'dev', outside);
  ip('link', 'set', outside, 'up');
  ip('netns', 'exec', name, 'ip', 'addr', 'add', `${insideAddress}/30`, 'dev', inside);
  ip('netns', 'exec', name, 'ip', 'link', 'set', inside, 'up');
  ip('netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up');
  return {
    name,
    outsideAddress,
    insideAddress,
    cut: () => ip('link', 'set', outside, 'down'),
    heal: () => ip('link', 'set', outside, 'up'),
  };
}
