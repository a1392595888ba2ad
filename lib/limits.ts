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

/** Largest value, bytes: Redis's proto-max-bulk-len default, and room for
 *  the keyspace's record header (27 bytes) in front of a string that long,
 *  so SET of a largest bulk, and SETRANGE and SETBIT at Redis's largest
 *  offsets, fit (until session 22 they were refused by 27 bytes). */
export const valueBytesMax = 512 * MiB + 64;

/** Largest WAL record payload (one batch), bytes. The length field is 32-bit;
 *  one batch must fit a largest value plus overhead. */
export const walRecordBytesMax = 1 * GiB;

/** Largest number of operations in one batch (and one WAL record). Every
 *  request the RESP port accepts fits: a command writes at most two
 *  operations per argument (ZREM: a member and its score entry; DEL of keys
 *  with a TTL: the key and its expiry entry) and a few more, and a request
 *  has at most multibulkCountMax arguments. 1,000,000 until session 21,
 *  which refused a ZADD of 524,287 members (a legal request) after building
 *  it. Replay allocates nothing per operation. */
export const batchOpsMax = 4 * 1024 * 1024;

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

/**
 * Default bound on the segment readers kept open (file descriptors), as
 * LevelDB's max_open_files: about 32 GB of data at 32 MiB segments. The
 * server lowers it when the process's descriptor limit is small
 * (service/resp/server.ts).
 */
export const maxOpenFilesDefault = 1000;

/**
 * Default bound on what open segment readers hold (index, decoded index,
 * Bloom filter): about 3.1 MiB per million keys of 16 bytes with 100-byte
 * values (3.27 MB for a 27 MB segment of them, docs/engines.md), so about
 * 330 million such keys keep every reader open; fewer, larger values
 * need less.
 */
export const tableCacheBytesDefault = 1024 * MiB;

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

/** How often a running engine prunes its WAL archive by age besides at each WAL retirement, ms (an idle server retires none). */
export const archivePruneIntervalMs = 60_000;

/** everysec fsync interval, ms. */
export const walSyncIntervalMs = 1000;

/**
 * Under sync policy `always`, the WAL writer keeps up to this many zero bytes
 * written (and, after the next fdatasync, synced) ahead of its records, so
 * that an fdatasync flushes data only, not a new file size
 * (docs/format.md, "Preallocated tail"). 0 turns it off.
 */
export const walPreallocateBytesDefault = 1 * MiB;

/**
 * The server's space reserve (--reserve-mb; lib/engine/reserve.ts): deleted
 * when an open finds the disk full, it gives room to what an open writes
 * (LOCK, a manifest, a WAL file and its preallocated zeros) and to a few
 * writes after it.
 */
export const reserveBytesDefault = 8 * MiB;

/** Largest reserve (written 64 KiB a turn, so its size costs time, not event-loop stalls). */
export const reserveBytesMax = 1024 * MiB;

/** Free space a reserve is written only beside (after a full disk): taking the space back never fills the disk. */
export const reserveHeadroomBytes = 64 * MiB;

/** Largest walPreallocateBytes: a chunk is one synchronous write of zeros on the event loop (about 0.3 ms per MiB). */
export const walPreallocateBytesMax = 64 * MiB;

/**
 * How much the flush and compaction worker threads' nice value exceeds the
 * process's (lib/thread-priority.ts): at 10, a worker sharing a busy core
 * with the event loop gets about a tenth of it (Linux weighs nice 0 at 1024
 * and nice 10 at 110). docs/bench.md, "Background threads' priority".
 */
export const backgroundNiceDefault = 10;

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
assert(2 * multibulkCountMax + 1024 <= batchOpsMax, 'the writes of a largest request fit one batch');

// ---------------------------------------------------------------- keyspace (lib/keyspace)

/** Logical databases when the configuration does not say (Redis's default). */
export const databasesDefault = 16;

/** Most logical databases a configuration may ask for. */
export const databasesMax = 1_000_000;

/** Most metadata entries one SCAN call examines, whatever COUNT asks (bounds one command's work). */
export const scanCountMax = 10_000;

/** Slots in the SCAN cursor ring: cursors older than this many SCAN calls restart (Kvrocks keeps 16384). */
export const scanCursorSlots = 16_384;

/** Bytes the SCAN cursor ring may hold in positions and scopes; past it the oldest cursors are forgotten. */
export const scanCursorBytesMax = 16 * 1024 * 1024;

/** RANDOMKEY walks a db of at most this many keys to a uniformly random position. */
export const randomKeyWalkMax = 1_024;

/**
 * Hidden entries (tombstones of deleted keys, older versions) one SCAN call
 * may pass per unit of COUNT before it returns what it has, with a cursor
 * that goes on: up to about 1 us each (memtable tombstones), so COUNT 10
 * passes at most 1,000, about 1 ms.
 */
export const scanHiddenPerCount = 100;

/**
 * Tombstones (of keys already expired or deleted) one expiry sweep may pass
 * in the expiry index per key it may delete, before it stops and lets the
 * next sweep go on from there.
 */
export const sweepHiddenPerKey = 10;

/**
 * Freed list elements one command deletes explicitly (lib/keyspace/list.ts);
 * above it the subkeys are left for the compaction filter, so the batch stays
 * small and LTRIM stays O(1) however much it removes. 1024 deletes are a few
 * tens of KiB of batch: cheap to log, and short lists are cleaned at once.
 */
export const listFreedDeletesMax = 1024;

/**
 * Random picks (HRANDFIELD, SRANDMEMBER, SPOP; lib/keyspace/collection.ts):
 * collections of at most this many elements are walked to uniformly chosen
 * positions, larger ones sampled by descending their key trie. Walking costs
 * about a microsecond per entry, a sampled pick a few dozen seeks, so below
 * 64 the walk is both exact and cheaper.
 */
export const randomPickWalkMax = 64;

/** Branching levels of the key trie a sampled pick descends before its final seek: bounds one pick's seeks (keys differ within far fewer bytes in practice). */
export const randomPickLevelsMax = 16;

/** Undersized children (a single key, kept only in proportion to its share) a sampled pick may refuse at one level before it takes one anyway: bounds one pick's seeks per level. */
export const randomPickProbesMax = 8;

/**
 * Most elements one random pick with repetition returns (HRANDFIELD and
 * SRANDMEMBER with a negative count, and ZRANDMEMBER's, lib/keyspace/zset.ts):
 * the reply is built in memory, and no reply needs to be longer than the
 * longest request (multibulkCountMax). Redis has no such bound; an unbounded
 * count would exhaust memory before the output buffer limit could act.
 */
export const randomPickCountMax = multibulkCountMax;

assert(randomPickWalkMax >= 1 && randomPickProbesMax >= 1 && randomPickLevelsMax >= 1, 'random picks make progress');

// ---------------------------------------------------------------- RESP server (service/)
// Defaults of the server's own bounds; configuration overrides the ones that
// are parameters (service/config.ts).

/** Unsent reply bytes in a socket above which the connection stops reading
 *  (backpressure, service/resp/connection.ts). 1 MiB: pipelined small replies
 *  never reach it, and a client that does not read holds little beyond its
 *  output buffer cap. */
export const outputHighWaterBytes = 1 * MiB;

/** Request processing per event-loop iteration, ms (service/resp/turn-budget.ts):
 *  past it, connections with requests left wait for the next iteration, so
 *  the loop polls again between slices. libuv (1.45 on) accepts one
 *  connection per iteration: with 50 clients' pipelines in one iteration
 *  (40-80 ms of LRANGEs) a burst of 50 new connections took 1.8 s to be
 *  accepted; and one client's deep pipeline held every other client. */
export const turnBudgetMs = 4;

/** The same while new connections are being accepted, ms (turn-budget.ts):
 *  libuv accepts one an iteration, so a burst of them waits for as many
 *  iterations; shorter ones let 50 connections in while others keep the
 *  server busy in tens of ms instead of 400. */
export const acceptBurstBudgetMs = 0.5;

/** How long a connection the server has closed (QUIT, a protocol error, a
 *  half-closed client answered) waits for the client's FIN, ms, reading and
 *  dropping what still comes, before its socket is destroyed: closing at
 *  once with unread input would reset the connection and could cost the
 *  client its last replies; waiting forever kept one file descriptor per
 *  client that never closes (Redis closes its descriptor at once). */
export const closeGraceMs = 2000;

/** Replies of one connection waiting (for durability or the dispatcher)
 *  above which it stops reading: bounds what a deep pipeline of writes
 *  waiting for fsync holds. 16 Ki is far above what pipelining clients keep
 *  in flight (redis-benchmark -P 16 keeps 16 per connection). */
export const pendingRepliesMax = 16 * KiB;

/** Most commands one MULTI queues. Redis has no cap but memory; here each
 *  queued command holds a copy of its arguments and some 450 bytes beside
 *  them (a short SET), and EXEC runs them in one event-loop turn as one
 *  engine batch (batchOpsMax operations, and a write command takes at least
 *  one). A command queued past it fails the transaction (EXECABORT). */
export const multiQueuedCommandsMax = 100_000;

/** Most argument bytes one MULTI queues: queryBufferBytesMax, what one
 *  connection may otherwise hold unexecuted. Past it, as multiQueuedCommandsMax. */
export const multiQueuedBytesMax = queryBufferBytesMax;

/** client-output-buffer-limit for normal clients, hard cap, bytes. Unlike
 *  Redis (unlimited), a client that does not read is disconnected; 1 GiB
 *  leaves room for one reply of a largest (512 MiB) value. */
export const clientOutputNormalHardBytes = 1 * GiB;

/** Normal clients' soft cap, bytes: above it for clientOutputSoftSeconds, a
 *  client that is not reading is disconnected. */
export const clientOutputNormalSoftBytes = 256 * MiB;

/** client-output-buffer-limit for Pub/Sub clients, hard and soft caps, bytes
 *  (Redis's defaults: 32 MiB and 8 MiB). */
export const clientOutputPubsubHardBytes = 32 * MiB;
export const clientOutputPubsubSoftBytes = 8 * MiB;

/** Seconds a client's output may stay above its soft cap (Redis's 60). */
export const clientOutputSoftSeconds = 60;

/** Most clients connected at once, when the configuration does not say (Redis's maxclients default). */
export const maxClientsDefault = 10_000;

/** File descriptors kept for the engine's other files (WAL, manifest, LOCK,
 *  the files flush and compaction write and read in workers) and the
 *  process, beyond clients and the table cache's max-open-files: maxclients
 *  is lowered to the descriptor limit less these and max-open-files. Redis
 *  keeps 32; the engine needs more. */
export const reservedFileDescriptors = 128;

/** The least max-open-files the server lowers it to when the descriptor limit is small. */
export const openFilesMin = 64;

/** How long a graceful close waits for in-flight commands and unsent replies
 *  before cutting clients off, ms: long enough for an fsync under load,
 *  short enough for a service manager's stop timeout (systemd's 90 s). */
export const drainTimeoutMs = 10_000;

/** A connection refused at maxclients that neither reads its error nor closes is cut off after this, ms. */
export const refusedLingerMs = 5_000;

/** Expiry sweeps run back to back within one sweep interval, when each hit
 *  its key limit: bounds the sweep's share of the event loop while a backlog
 *  of expired keys is cleared (10 × expiry-sweep-keys per interval). */
export const expirySweepsPerIntervalMax = 10;

/** Largest config file read, bytes: a redis.conf is a few KiB; anything this big is a mistake. */
export const configFileBytesMax = 1 * MiB;

/** Arguments a slow log entry keeps, and bytes kept per argument (Redis's
 *  SLOWLOG_ENTRY_MAX_ARGC and SLOWLOG_ENTRY_MAX_STRING): bounds the slow
 *  log's memory at slowlog-max-len entries. */
export const slowlogArgsMax = 32;
export const slowlogArgBytesMax = 128;

assert(outputHighWaterBytes < clientOutputPubsubSoftBytes, 'a connection stops reading before its output reaches a soft cap');
assert(clientOutputNormalSoftBytes <= clientOutputNormalHardBytes && clientOutputPubsubSoftBytes <= clientOutputPubsubHardBytes, 'soft caps below hard caps');
assert(protoMaxBulkBytes < clientOutputNormalHardBytes, 'a reply of a largest value fits a normal client\'s output cap');

// ---------------------------------------------------------------- offline tools (tools/)

/** `silt load`: elements of one collection written per batch; larger
 *  collections take several (tools/load.ts). Keeps a batch far below
 *  batchOpsMax and a WAL record's size. */
export const loadCollectionOpsMax = 100_000;

/** `silt load` into a directory: batches applied before their durability is
 *  awaited (lets the engine flush and stall writers). */
export const loadDirectoryWritesInFlightMax = 256;

/** `silt load --host`: commands and bytes sent to a server before its
 *  replies are awaited: bounds the replies held, and keeps the server's
 *  backpressure (pendingRepliesMax) from engaging. */
export const loadServerCommandsInFlightMax = 1024;
export const loadServerBytesInFlightMax = 16 * MiB;

/** Errors a tool report lists one by one (`silt load`); past this they are only counted, so a bad file cannot grow the report without bound. */
export const loadErrorsListedMax = 100;

/** `silt restore --dry-run`: changed keys listed (the counts cover them all). */
export const dryRunKeysListedMax = 10_000;

/** `silt restore`: replayed batches written before their completion is
 *  awaited (the engine groups their WAL writes), as loadDirectoryWritesInFlightMax. */
export const restoreWritesInFlightMax = 256;

/** Bytes after a damaged WAL record that the tools scan for records beyond it (tools/wal-scan.ts), and keys they list from them. */
export const afterDamageScanBytesMax = 64 * MiB;
/** Bytes that scan checksums at most, over every place it tries (a place inside a large record can claim
 *  a length up to the rest of the window: unbounded, trying every byte is quadratic). Past it, the scan
 *  stops and says it is incomplete. */
export const afterDamageChecksumBytesMax = 4 * afterDamageScanBytesMax;
export const afterDamageKeysMax = 1000;

assert(loadCollectionOpsMax * 2 <= batchOpsMax, 'a loaded collection batch fits a batch');
assert(loadServerCommandsInFlightMax <= pendingRepliesMax, 'silt load stays below the server\'s pending replies cap');

/** Live WAL bytes from which recovery reads and checks the records in a worker
 *  thread while the main thread applies them (wal-replay-thread.ts): below it,
 *  starting the thread (about 30 ms) costs more than it saves. */
export const walReplayThreadBytesMin = 8 * MiB;

/** Bytes of checked WAL payloads the replay thread hands over at a time, and how
 *  many such chunks may wait for the main thread (bounds the memory it runs ahead). */
export const walReplayChunkBytes = 1 * MiB;
export const walReplayChunksAhead = 8;

/** How long replay through the thread applies chunks before it lets the event loop run, ms: a server
 *  listening during recovery answers LOADING meanwhile (LsmEngine#replayWal). */
export const walReplaySliceMs = 10;

/** A replay thread that sends nothing for this long is taken for dead, ms. */
export const walReplayThreadStallMs = 120_000;

/**
 * Dead key ranges the engine remembers (lib/engine/dead-ranges.ts): where
 * forward walks passed only deleted keys, so that later walks seek past them.
 */
export const deadRangesMax = 32;

/** Deleted entries a walk passes at its start before the engine remembers the stretch as a dead range. */
export const deadRangeHiddenMin = 32;

/**
 * Elements from which a list range (LRANGE) walks in slices at a snapshot,
 * so that other clients run meanwhile (about 5 ms of walking at 0.5 us an
 * element); shorter ranges take the walk without a snapshot or a key copy.
 */
export const listRangeSlicedMin = 10_000;
