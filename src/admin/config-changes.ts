// IncrementalAlterConfigs' changes (KIP-339) applied to a resource's current configs: SET,
// DELETE, APPEND and SUBTRACT on single keys; APPEND/SUBTRACT only on list keys
// (cleanup.policy, max.connections.per.ip.overrides), as Kafka requires, starting from the
// value set at that level, else the key's built-in default, as Kafka's do.

import type { ConfigDefinition } from '../config/definitions.js';
import type { ConfigOutcome } from '../controller/controller.js';
import { ErrorCode } from '../protocol/errors.js';
import { excerpt } from '../protocol/string-limits.js';

/** IncrementalAlterConfigs' operations. */
export const IncrementalOperation = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;
const { SET, DELETE, APPEND, SUBTRACT } = IncrementalOperation;

export interface IncrementalChange {
  readonly name: string;
  readonly configOperation: number;
  readonly value: string | null;
}

export function splitList(text: string | null): string[] {
  return (text ?? '').split(',').map((item) => item.trim()).filter((item) => item !== '');
}

/**
 * Applies the changes, in order, to a resource's current configs. `definitionOf` names the
 * keys APPEND and SUBTRACT may use; `listStart` is what they start from when the key is not
 * set at this level. Returns the new configs, or the error Kafka answers.
 */
export function applyIncrementalChanges(
  current: ReadonlyMap<string, string>,
  changes: readonly IncrementalChange[],
  definitionOf: (name: string) => ConfigDefinition | undefined,
  listStart: (name: string) => string[],
  unknownName: (name: string) => ConfigOutcome | undefined,
): Map<string, string> | ConfigOutcome {
  const next = new Map(current);
  const fail = (message: string): ConfigOutcome => ({ errorCode: ErrorCode.INVALID_CONFIG, errorMessage: message });
  for (const change of changes) {
    const unknown = unknownName(change.name);
    if (unknown !== undefined) return unknown;
    switch (change.configOperation) {
      case SET:
        if (change.value === null) return fail(`Null value not supported for ${excerpt(change.name)}`);
        next.set(change.name, change.value);
        break;
      case DELETE:
        next.delete(change.name);
        break;
      case APPEND:
      case SUBTRACT: {
        const definition = definitionOf(change.name);
        const verb = change.configOperation === APPEND ? 'append' : 'subtract';
        if (definition === undefined) return fail(`Unknown config name: ${excerpt(change.name)}`);
        if (definition.type !== 'list') return fail(`Config value ${verb} is not allowed for config key: ${excerpt(change.name)}`);
        const items = next.has(change.name) ? splitList(next.get(change.name)!) : listStart(change.name);
        const given = splitList(change.value);
        const updated = change.configOperation === APPEND ? [...items, ...given.filter((item) => !items.includes(item))] : items.filter((item) => !given.includes(item));
        next.set(change.name, updated.join(','));
        break;
      }
      default:
        return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: `Unknown config operation ${change.configOperation}` };
    }
  }
  return next;
}
