// A real ZooKeeper for tests: the launcher lives in bench/lib/zookeeper.ts, shared with the
// replicated benchmark (bench/ does not import from test/); tests keep importing it from here.

export { startZooKeeper, type ZooKeeperOptions, type ZooKeeperServer } from '../../bench/lib/zookeeper.js';
