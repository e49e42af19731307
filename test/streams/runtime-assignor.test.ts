// The leader's task assignment (task-assignor.ts), no broker: balanced, sticky to what members
// report owning, and cooperative — a task that moves is given to nobody in the first round and to
// its new owner in the follow-up round, once its old owner reports it no longer owns it.

import t from 'tap';
import { assignTasks, type SubscriptionInfo } from '../../src/streams/runtime/task-assignor.js';

const tasks = ['0_0', '0_1', '0_2', '0_3', '1_0', '1_1', '1_2', '1_3'];
const member = (owned: string[], generation = 1): SubscriptionInfo => ({ owned, generation });

t.test('a first member gets everything; a second joining takes half over two rounds', async (t) => {
  const first = assignTasks(tasks, new Map([['a', member([])]]));
  t.same(first.assignment.get('a'), tasks);

  const round1 = assignTasks(tasks, new Map([['a', member(tasks)], ['b', member([])]]));
  t.equal(round1.assignment.get('a')!.length, 4, 'a keeps its quota');
  t.same(round1.assignment.get('b'), [], 'b gets nothing yet: the tasks it will get are still a\'s');
  t.equal(round1.revoked.length, 4, 'four tasks revoked from a');
  t.ok(round1.assignment.get('a')!.every((task) => tasks.includes(task)));

  const round2 = assignTasks(tasks, new Map([['a', member([...round1.assignment.get('a')!], 2)], ['b', member([], 2)]]));
  t.same(round2.assignment.get('a'), round1.assignment.get('a'), 'a keeps the same tasks (sticky, not moved)');
  t.same([...round2.assignment.get('b')!].sort(), [...round1.revoked].sort(), 'b gets the revoked ones in the follow-up round');
  t.same(round2.revoked, []);
});

t.test('a member leaving: its tasks are unowned and spread at once', async (t) => {
  const result = assignTasks(tasks, new Map([['a', member(['0_0', '0_1', '0_2'])], ['c', member(['1_0', '1_1', '1_2'])]]));
  t.same(result.revoked, []);
  t.equal(result.assignment.get('a')!.length + result.assignment.get('c')!.length, tasks.length);
  t.ok(['0_0', '0_1', '0_2'].every((task) => result.assignment.get('a')!.includes(task)), 'a keeps its tasks');
  t.ok(['1_0', '1_1', '1_2'].every((task) => result.assignment.get('c')!.includes(task)), 'c keeps its tasks');
});

t.test('a task claimed twice (a zombie) goes to the newest generation', async (t) => {
  const result = assignTasks(['0_0', '0_1'], new Map([['zombie', member(['0_0', '0_1'], 3)], ['owner', member(['0_0', '0_1'], 5)]]));
  t.same(result.assignment.get('owner'), ['0_0'], 'the newer claim keeps one (its quota)');
  t.same(result.assignment.get('zombie'), [], 'the zombie keeps nothing');
  t.same(result.revoked, ['0_1'], 'the other moves to the zombie only after the owner gives it up');
});
