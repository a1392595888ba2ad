// A batch of puts and deletes applied atomically: one WAL record, consecutive
// sequence numbers, all or nothing after a crash. Keys and values are kept by
// reference: the caller must not modify them until write() resolves.

import { keyBytesMax, valueBytesMax, batchOpsMax } from '../limits.js';
import { LimitExceededError } from '../errors.js';

export type BatchOp =
  | { readonly type: 'put'; readonly key: Buffer; readonly value: Buffer }
  | { readonly type: 'del'; readonly key: Buffer };

export class WriteBatch {
  readonly ops: BatchOp[] = [];
  /** Sum of key and value bytes, for memtable accounting and limits. */
  bytes = 0;

  /** Adds a put. @throws LimitExceededError when the key or value is over its limit. */
  put(key: Buffer, value: Buffer): this {
    checkKey(key);
    if (value.length > valueBytesMax) {
      throw new LimitExceededError(`Cannot write value of ${value.length} bytes: the limit is ${valueBytesMax}`);
    }
    this.#checkCount();
    this.ops.push({ type: 'put', key, value });
    this.bytes += key.length + value.length;
    return this;
  }

  /** Adds a delete. @throws LimitExceededError when the key is over its limit. */
  del(key: Buffer): this {
    checkKey(key);
    this.#checkCount();
    this.ops.push({ type: 'del', key });
    this.bytes += key.length;
    return this;
  }

  get length(): number {
    return this.ops.length;
  }

  #checkCount(): void {
    if (this.ops.length >= batchOpsMax) {
      throw new LimitExceededError(`Cannot add to batch: it holds the maximum of ${batchOpsMax} operations`);
    }
  }
}

function checkKey(key: Buffer): void {
  if (key.length > keyBytesMax) {
    throw new LimitExceededError(`Cannot write key of ${key.length} bytes: the limit is ${keyBytesMax}`);
  }
}
