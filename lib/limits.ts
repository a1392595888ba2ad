// Every bound silt enforces, with its unit and the reason for its value.
// Each is a default: options override them (tests use small ones), and the
// relationships between them are asserted when this module loads, the way
// tigerbeetle's constants.zig checks its own.

import { assert } from './assert.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** Largest key, bytes. Redis allows 512 MiB keys; nobody needs them and every
 *  index block would pay for it, so keys are capped far lower. */
export const keyBytesMax = 64 * KiB;

/** Largest value, bytes. Redis's proto-max-bulk-len default. */
export const valueBytesMax = 512 * MiB;

/** Largest WAL record payload (one batch), bytes. The length field is 32-bit;
 *  one batch must fit a largest value plus overhead. */
export const walRecordBytesMax = 1 * GiB;

/** Largest number of operations in one batch. Bounds replay memory per record. */
export const batchOpsMax = 1_000_000;

/** WAL file size at which the writer rolls to a new file even before a flush, bytes. */
export const walFileBytesMax = 256 * MiB;

/** Default memtable budget, bytes: when reached, the memtable turns immutable and flushes. */
export const memtableBytesDefault = 64 * MiB;

/** Smallest memtable budget a caller may configure, bytes (tests use small ones). */
export const memtableBytesMin = 4 * KiB;

/** Immutable memtables waiting for flush before writes are slowed (then stalled). */
export const immutableMemtablesMax = 2;

/** Uncompressed data block target size, bytes, as in LevelDB (4 KiB). */
export const blockBytesTarget = 4 * KiB;

/** Restart point interval in a data block, entries (LevelDB's default, 16). */
export const blockRestartInterval = 16;

/** Target size of one segment written by compaction, bytes. */
export const segmentBytesTarget = 32 * MiB;

/** Bloom filter bits per key (about 1% false positives at 10). */
export const bloomBitsPerKey = 10;

/** Default block cache budget, bytes of decompressed blocks. */
export const blockCacheBytesDefault = 64 * MiB;

/** Number of levels, L0 to L6, as in LevelDB. */
export const levelCount = 7;

/** L0 segment count that triggers a compaction into L1. */
export const level0CompactionTrigger = 4;

/** L0 segment count at which writes slow down. */
export const level0SlowdownTrigger = 12;

/** L0 segment count at which writes stall until compaction catches up. */
export const level0StopTrigger = 20;

/** Target total bytes of L1; each next level is `levelSizeMultiplier` times larger. */
export const level1BytesTarget = 256 * MiB;

/** Growth factor between levels. */
export const levelSizeMultiplier = 10;

/** Largest manifest file before it is rewritten from a snapshot of the version, bytes. */
export const manifestBytesMax = 64 * MiB;

/** Largest single manifest record, bytes (a version snapshot of many segments). */
export const manifestRecordBytesMax = 64 * MiB;

/** Checkpoints kept under checkpoints/ before the oldest is removed. */
export const checkpointsKeptMax = 8;

/** WAL archive: off by default; when on, files older than this are removed, ms. */
export const walArchiveAgeMsDefault = 0;

/** WAL archive: off by default; when on, the archive is trimmed to this size, bytes. */
export const walArchiveBytesDefault = 0;

/** everysec fsync interval, ms. */
export const walSyncIntervalMs = 1000;

/** Longest a write may wait in a stall before it is rejected, ms. */
export const writeStallMsMax = 60_000;

/** Largest file any tool reads whole into memory (CURRENT, small manifests), bytes. */
export const smallFileBytesMax = 64 * MiB;

assert(valueBytesMax + keyBytesMax + 64 < walRecordBytesMax, 'a largest key and value fit one WAL record');
assert(walRecordBytesMax <= 0xffff_ffff, 'a WAL record length fits its 32-bit field');
assert(memtableBytesMin <= memtableBytesDefault, 'memtable minimum below default');
assert(level0CompactionTrigger < level0SlowdownTrigger, 'L0 compaction starts before slowdown');
assert(level0SlowdownTrigger < level0StopTrigger, 'L0 slowdown starts before stop');
assert(blockBytesTarget < segmentBytesTarget, 'a block fits in a segment');

// ---------------------------------------------------------------- RESP protocol
// Bounds on what a RESP peer may send: requests from clients
// (service/resp/decoder.ts) and replies from a server (service/resp/reply-decoder.ts,
// used by `silt load --host` and tests). Each is a default that a decoder takes
// as an option, so tests use small ones. Names and values follow Redis
// (redis/redis src/networking.c, processInlineBuffer and processMultibulkBuffer)
// unless the comment says otherwise. A request over any of these is a protocol
// error: the client gets `-ERR Protocol error: ...` and the connection closes,
// except the query buffer limits, which close the connection without a reply,
// as Redis does for client-query-buffer-limit.

/** Largest bulk string in a request, bytes. Redis's proto-max-bulk-len default
 *  (512 MiB); the largest value a client can send, so equal to valueBytesMax. */
export const protoMaxBulkBytes = 512 * MiB;

/** Largest element count of one multibulk request (`*N`), elements. Redis
 *  accepts up to INT_MAX but never preallocates from it; silt keeps the
 *  1,048,576 that Redis enforced before 6.0, which no real command needs to
 *  exceed (an MSET of half a million pairs), and never preallocates either. */
export const multibulkCountMax = 1_048_576;

/** Longest inline request line, and longest `*N` / `$N` header line, bytes.
 *  Redis's PROTO_INLINE_MAX_SIZE (64 KiB). */
export const inlineRequestBytesMax = 64 * KiB;

/** Most bytes one connection may have buffered and not yet executed, bytes:
 *  the unparsed input plus the command being assembled. Redis's
 *  client-query-buffer-limit default (1 GiB); a largest bulk fits in it. */
export const queryBufferBytesMax = 1 * GiB;

/** Largest multibulk count before the client has authenticated, elements.
 *  Redis's hard-coded 10: enough for AUTH and HELLO ... AUTH ... SETNAME. */
export const unauthenticatedMultibulkCountMax = 10;

/** Largest bulk string before the client has authenticated, bytes. Redis's
 *  hard-coded 16 KiB. */
export const unauthenticatedBulkBytesMax = 16 * KiB;

/** Query buffer bound before the client has authenticated, bytes. Redis's
 *  hard-coded 1 MiB: a client that has not logged in cannot make the server
 *  hold much memory. */
export const unauthenticatedQueryBufferBytesMax = 1 * MiB;

/** Longest line in a reply read by the client-side decoder (simple string,
 *  error, integer, double, big number, length header), bytes. Redis's own
 *  status and error replies are far shorter; 64 KiB matches the request side. */
export const replyLineBytesMax = 64 * KiB;

/** Deepest nesting of aggregates (array, map, set, push, attribute) in a reply
 *  read by the client-side decoder, levels. Redis's deepest replies (XREAD,
 *  XINFO FULL, Lua tables) nest well under 20; 512 bounds the decoder's stack. */
export const replyNestingDepthMax = 512;

/** Largest declared element count of one aggregate in a reply read by the
 *  client-side decoder, elements. Replies can be far longer than requests
 *  (LRANGE of a long list), so this is Redis's own INT_MAX; counts are never
 *  preallocated, so it only rejects garbage headers. */
export const replyAggregateCountMax = 2_147_483_647;

assert(protoMaxBulkBytes <= valueBytesMax, 'a request bulk fits the value limit');
assert(protoMaxBulkBytes + inlineRequestBytesMax < queryBufferBytesMax, 'a largest bulk and its header fit the query buffer');
assert(inlineRequestBytesMax <= queryBufferBytesMax, 'an inline request fits the query buffer');
assert(unauthenticatedMultibulkCountMax <= multibulkCountMax, 'unauthenticated multibulk count below the general one');
assert(unauthenticatedBulkBytesMax <= protoMaxBulkBytes, 'unauthenticated bulk below the general one');
assert(unauthenticatedQueryBufferBytesMax <= queryBufferBytesMax, 'unauthenticated query buffer below the general one');
assert(
  unauthenticatedMultibulkCountMax * (unauthenticatedBulkBytesMax + 32) <= unauthenticatedQueryBufferBytesMax,
  'a largest unauthenticated request fits the unauthenticated query buffer',
);
assert(multibulkCountMax <= replyAggregateCountMax, 'a reply may be as long as a request');

// ---------------------------------------------------------------- keyspace (lib/keyspace)

/** Logical databases when the configuration does not say (Redis's default). */
export const databasesDefault = 16;

/** Most logical databases a configuration may ask for. */
export const databasesMax = 1_000_000;

/** Most metadata entries one SCAN call examines, whatever COUNT asks (bounds one command's work). */
export const scanCountMax = 10_000;

/** Slots in the SCAN cursor ring: cursors older than this many SCAN calls restart (Kvrocks keeps 16384). */
export const scanCursorSlots = 16_384;

/** RANDOMKEY walks a db of at most this many keys to a uniformly random position. */
export const randomKeyWalkMax = 1_024;

/** Entries RANDOMKEY examines before it gives up on finding a live key. */
export const randomKeyProbesMax = 1_000;
