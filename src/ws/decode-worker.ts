// A decode pool thread (decode-pool.ts runs it through piscina): decodes one fetch per task with
// record-decoder.ts, reading the records where the main thread copied them, and answers with
// its items packed in shared memory (decode-messages.ts). A RecordDecodeError is answered as a
// DecodeFailure, so a corrupt batch or a bomb never ends the thread; anything else thrown is a
// bug and reaches the caller as piscina's rejection (piscina keeps the thread).

import { installCrc32c } from '../protocol/crc32c.js';
import { loadCrc32c } from '../native/crc32c.js';
import { packItems, taskInput, type DecodeReply, type DecodeTask } from './decode-messages.js';
import { RecordDecodeError, decodeFetchedRecords } from './record-decoder.js';

// The addon's CRC-32C where it loads, as in the shard threads; else the JavaScript table. Its
// absence is already logged by the shards, which load the same addon at startup.
installCrc32c(loadCrc32c(() => undefined).crc32c);

export default function decode(task: DecodeTask): DecodeReply {
  try {
    return packItems(decodeFetchedRecords(taskInput(task)), task.options.format);
  } catch (error) {
    if (error instanceof RecordDecodeError) {
      return { ok: false, code: error.code, offset: error.offset, nextOffset: error.nextOffset, message: error.message };
    }
    throw error;
  }
}
