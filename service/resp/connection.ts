// One client connection: socket -> RespDecoder -> Dispatcher -> ordered reply
// queue -> ReplyWriter -> socket, and the client's state (database, protocol,
// authentication, transaction, watched keys, subscriptions) that commands see
// through ctx.client.
//
// Reply order: every request gets its reply in request order, whatever the
// pipeline depth. A reply that is ready while nothing waits ahead of it is
// encoded at once into the writer (the fast path: no queue entry at all);
// otherwise it takes a slot in the queue, and slots leave the queue in order
// as their replies become ready (a write waiting for durability, a command
// waiting in the dispatcher's FIFO). Pub/Sub messages (push) join the same
// queue, so they never overtake a reply the client is owed.
//
// Fairness: requests run within the server's per-iteration budget
// (turn-budget.ts). A connection with requests left when it runs out stops
// reading and goes on in a later slice, round-robin with the others, so a
// deep pipeline never holds other clients (or new connections: libuv accepts
// one per loop iteration) for longer than a slice.
//
// A client parked by a blocking command (BLPOP ...) runs none of its later
// requests until it is answered, but its socket is still read (into the
// query buffer, under its limit), as Redis reads a blocked client: so its FIN
// is seen, and a blocked client whose connection ends is dropped before its
// command takes an element for nobody.
//
// Backpressure: the connection stops reading (socket.pause, and stops taking
// commands out of the decoder) while its socket holds more than
// outputHighWaterBytes of unsent replies, or more than pendingRepliesMax
// replies wait for durability; it reads again on 'drain' and as replies
// settle. A client that does not read therefore stops being read from, and
// the output it can make the server hold is bounded by the client output
// buffer limit (hard, and soft for a while), on by default: past it the client
// is disconnected, as Redis's client-output-buffer-limit does.
//
// Errors: a protocol error replies `-ERR Protocol error: ...` after every
// reply owed before it, then closes this connection only. A query buffer over
// its limit closes the connection without a reply (as Redis).

import type { Socket } from 'node:net';
import type { WriteBatch } from '../../lib/engine/engine.js';
import type { Keyspace } from '../../lib/keyspace/keyspace.js';
import type { CommandContext } from './command.js';
import { ProtocolError, QueryBufferLimitError, RespDecoder, type DecoderLimits } from './decoder.js';
import type { Dispatcher, QueuedCommand } from './dispatcher.js';
import { ReplyWriter, type Protocol } from './encoder.js';
import { DurableReply, ErrorReply, PushReply, type Reply } from './reply.js';
import type { RespServer } from './server.js';
import type { TurnBudget } from './turn-budget.js';
import type { WatchedKey } from './commands/transactions.js';
// Backpressure: reading stops above outputHighWaterBytes unsent or pendingRepliesMax replies waiting.
import { closeGraceMs, outputHighWaterBytes, pendingRepliesMax } from '../../lib/limits.js';

/**
 * Several replies for one command, written one after another (SUBSCRIBE a b
 * answers one confirmation per channel). Only the connection unpacks it;
 * nested in another reply it encodes as a push.
 */
export class ReplySequence extends PushReply {
  /** No reply at all (SHUTDOWN on success, requests dropped after QUIT). */
  static readonly empty = new ReplySequence([]);
}

/** A transaction being queued by MULTI. */
export interface MultiState {
  commands: QueuedCommand[];
  /** Bytes of the queued commands' arguments (limits.multiQueuedBytesMax). */
  bytes: number;
  /** A command failed its checks while queuing: EXEC answers -EXECABORT. */
  failed: boolean;
}

/** Replies waiting on one durability promise (see Connection.#awaitDurable). */
interface DurableGroup {
  durability: Promise<unknown>;
  slots: Slot[];
  /** Its promise has settled: a reply that waits on it now needs a group of its own. */
  settled: boolean;
}

interface Slot {
  reply: Reply | undefined;
  ready: boolean;
  /**
   * Protocol to encode the reply in: the client's protocol right after its
   * command ran (HELLO's own reply is in the protocol it chose), even if a
   * later HELLO changed it while the reply waited for fdatasync.
   */
  protocol: Protocol;
  /** `protocol` is settled: the command ran (when read, or later from the dispatcher's queue). */
  protocolFixed: boolean;
  /** Close the connection once this reply is written (protocol error). */
  closeAfter: boolean;
}

/** ctx for the client's commands: db and protocol read through to the client. */
class ClientContext implements CommandContext {
  nowMs = 0;
  readonly client: Connection;
  readonly server: RespServer;

  constructor(client: Connection, server: RespServer) {
    this.client = client;
    this.server = server;
  }

  get db(): number {
    return this.client.db;
  }

  set db(value: number) {
    this.client.db = value;
  }

  get protocol(): Protocol {
    return this.client.protocol;
  }

  get keyspace(): Keyspace {
    return this.server.keyspace!;
  }

  write(batch: WriteBatch): void {
    this.server.dispatcher.write(batch, this.client);
  }

  turn(): Promise<void> | undefined {
    return this.server.dispatcher.turn(this.client);
  }

  canWriteAhead(): boolean {
    return this.server.dispatcher.canWriteAhead(this.client);
  }

  writeAhead(batch: WriteBatch): Promise<void> {
    return this.server.dispatcher.writeAhead(batch, this.client);
  }
}

/**
 * Connections with replies to write, written together once per event-loop
 * iteration from a setImmediate callback: after the poll phase has read
 * and run every ready client's requests, and after the WAL's group commit
 * (also a setImmediate, queued earlier) has acknowledged that turn's
 * writes. Redis does the same: it writes its clients' output in
 * beforeSleep, not after each read. A write(2) to a loopback socket whose
 * reader sleeps costs a wake-up; writing every reply of the iteration in
 * one burst wakes the client once rather than once per request (at
 * pipeline 1 with 50 clients this halved the cost of a socket write and cut
 * GET's server CPU by a sixth; docs/bench.md, session 10).
 */
class OutputQueue {
  #connections: Connection[] = [];
  #scheduled = false;

  add(connection: Connection): void {
    this.#connections.push(connection);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#writeAll);
    }
  }

  readonly #writeAll = (): void => {
    const connections = this.#connections;
    this.#connections = [];
    this.#scheduled = false;
    for (const connection of connections) connection.writeQueuedOutput();
  };
}

const outputQueue = new OutputQueue();

export class Connection {
  readonly id: number;
  /** "ip:port" of the peer. */
  readonly address: string;
  /** "ip:port" of our end. */
  readonly localAddress: string;
  readonly createdMs: number;
  readonly context: ClientContext;

  name = '';
  libName = '';
  libVersion = '';
  db = 0;
  multi: MultiState | undefined;
  /** Watched keys by "db:key" (WatchRegistry keeps the reverse index). */
  readonly watched = new Map<string, WatchedKey>();
  /** A watched key changed since WATCH: the next EXEC fails. */
  watchDirty = false;
  /** Subscribed channels and patterns, as latin1 strings. */
  readonly channels = new Set<string>();
  readonly patterns = new Set<string>();
  lastInteractionMs: number;
  /** Full name of the last command run ("client|list"), for CLIENT LIST. */
  lastCommand = 'NULL';
  /** The socket is gone (or going): nothing more is read or run. */
  closed = false;
  /** Parked by a blocking command (BLPOP ...): no request is read or run until it is answered. */
  blocked = false;

  readonly #server: RespServer;
  readonly #socket: Socket;
  readonly #decoder: RespDecoder;
  readonly #writer: ReplyWriter;
  #protocol: Protocol = 2;
  #authenticated: boolean;

  /** Replies not yet written, in request order, from #slotHead. */
  #slots: Slot[] = [];
  /** Slots of requests the dispatcher queued or held and has not run yet, oldest first (see queuedRequestRan). */
  #unranSlots: Slot[] = [];
  #unranHead = 0;
  #slotHead = 0;
  /** Slots whose reply is not ready yet. */
  #pending = 0;
  /** The newest group of replies waiting on one durability promise, while it waits. */
  #durableGroup: DurableGroup | undefined;
  /** Reading stopped for backpressure. */
  #paused = false;
  /** Requests left for a later slice of the loop (TurnBudget); reading stopped meanwhile. */
  #deferred = false;
  /** Stop taking requests; close once every owed reply is written (QUIT, CLIENT KILL self, protocol error). */
  #closeWhenDrained = false;
  /** In OutputQueue for this iteration's write burst. */
  #flushQueued = false;
  /** Replies settled since the last burst: reading may resume after it (backpressure by pending replies). */
  #resumeOwed = false;
  /** Since when the output has been above the soft limit, ms; undefined when below. */
  #softLimitSinceMs: number | undefined;
  #processing = false;
  /** The dispatcher is running one of this client's requests read just now (see push()). */
  #executing = false;
  /** Push messages made by that request, delivered once its reply has its place. */
  #pushesAfterReply: Reply[] | undefined;
  /** The slot of the command parked by a blocking command, while it waits (parked()). */
  #parkedSlot: Slot | undefined;
  #parkNextSlot = false;
  /** The client sent its FIN (the server allows half-open sockets): run what it sent, answer, then close. */
  #inputEnded = false;
  /** After the FIN, every request read has been handed to the dispatcher: close once no reply is owed. */
  #inputDone = false;

  constructor(server: RespServer, socket: Socket, id: number) {
    this.#server = server;
    this.#socket = socket;
    this.id = id;
    this.address = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    this.localAddress = `${socket.localAddress ?? '?'}:${socket.localPort ?? 0}`;
    this.createdMs = Date.now();
    this.lastInteractionMs = this.createdMs;
    this.#authenticated = server.config.requirepass === '';
    this.#decoder = new RespDecoder(this.#configuredLimits(), { authenticated: this.#authenticated });
    this.#writer = new ReplyWriter(2);
    this.context = new ClientContext(this, server);

    socket.setNoDelay(true);
    socket.setKeepAlive(true, 300_000);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('drain', () => this.#maybeResume());
    socket.on('end', () => this.#onEnd());
    socket.on('error', (error: Error) => server.logger.debug({ err: error, client: this.address }, 'client socket error'));
    socket.on('close', () => this.#onClose());
  }

  // ------------------------------------------------------------ client state

  get protocol(): Protocol {
    return this.#protocol;
  }

  set protocol(value: Protocol) {
    this.#protocol = value;
  }

  get authenticated(): boolean {
    return this.#authenticated;
  }

  /** The decoder limits the server's configuration sets. */
  #configuredLimits(): Partial<DecoderLimits> {
    const config = this.#server.config;
    return { bulkBytesMax: config.protoMaxBulkLen, queryBufferBytesMax: config.clientQueryBufferLimit };
  }

  /** After CONFIG SET proto-max-bulk-len or client-query-buffer-limit: the new limits, from the next request line on. */
  applyConfiguredLimits(): void {
    this.#decoder.setLimits(this.#configuredLimits());
  }

  /** Also lifts the decoder's unauthenticated limits (10 arguments of 16 KiB). */
  set authenticated(value: boolean) {
    this.#authenticated = value;
    this.#decoder.authenticated = value;
  }

  get subscriptionCount(): number {
    return this.channels.size + this.patterns.size;
  }

  /** Bytes of replies encoded or buffered in the socket and not yet sent. */
  get outputBufferedBytes(): number {
    return this.#socket.writableLength + this.#writer.bufferedBytes;
  }

  /** Bytes received and not yet run. */
  get queryBufferedBytes(): number {
    return this.#decoder.bufferedBytes;
  }

  /** True while the connection still takes requests (false after QUIT, a kill, a protocol error). */
  get acceptsCommands(): boolean {
    return !this.closed && !this.#closeWhenDrained;
  }

  /** Leaves MULTI and forgets watched keys (EXEC, DISCARD, errors at EXEC). */
  discardTransaction(): void {
    this.multi = undefined;
    this.#server.watches.unwatchAll(this);
  }

  /** RESET: back to a fresh connection's state (keeps the id and the socket). */
  reset(): void {
    this.discardTransaction();
    this.#server.pubsub.removeClient(this);
    this.db = 0;
    this.protocol = 2;
    this.name = '';
    if (this.#server.config.requirepass !== '') this.authenticated = false;
  }

  /** Closes the connection once the reply to the running command (and every earlier one) is written. */
  closeAfterReply(): void {
    this.#closeWhenDrained = true;
  }

  /** Undoes closeAfterReply (SHUTDOWN SAVE that failed). */
  cancelCloseAfterReply(): void {
    this.#closeWhenDrained = false;
    process.nextTick(() => this.#maybeResume());
  }

  /** Closes at once, replies owed or not (CLIENT KILL, output limits, shutdown without drain). */
  kill(reason: string): void {
    if (this.closed) return;
    this.#server.logger.debug({ client: this.address, id: this.id, reason }, 'closing client');
    this.closed = true;
    this.#socket.destroy();
    this.#server.removeClient(this);
  }

  #pushAfterReply(): void {
    const pushes = this.#pushesAfterReply!;
    this.#pushesAfterReply = undefined;
    for (const reply of pushes) this.push(reply);
  }

  /**
   * Delivers a push message (Pub/Sub) behind every reply owed. One made
   * while this client's own command runs (a PUBLISH to a channel it is
   * subscribed to, also inside EXEC) goes after that command's reply, as
   * Redis 7.2 delivers it (redis/redis#12326; 7.0 wrote it first, or inside
   * EXEC's array).
   */
  push(reply: Reply): void {
    if (this.closed) return;
    if (this.#executing) {
      (this.#pushesAfterReply ??= []).push(reply);
      return;
    }
    if (this.#slotHead < this.#slots.length) {
      const slot: Slot = { reply, ready: true, protocol: this.#protocol, protocolFixed: true, closeAfter: false };
      // A parked command has no reply yet (Redis makes it when the client is served): a push goes before it.
      const parked = this.#parkedSlot === undefined ? -1 : this.#slots.indexOf(this.#parkedSlot, this.#slotHead);
      if (parked >= 0) this.#slots.splice(parked, 0, slot);
      else this.#slots.push(slot);
    } else if (!this.#write(reply, this.#protocol)) {
      return;
    }
    this.#scheduleFlush();
  }

  /**
   * A reply the encoder refused (an integer past 64 bits, a value that is not
   * a Reply) is a bug in a command: it costs this client its connection (the
   * output may hold part of the reply), not the server its process.
   */
  #encodingFailed(error: unknown): void {
    this.#server.logger.error({ err: error, client: this.address, id: this.id }, 'cannot encode a reply (a bug); closing the client');
    this.kill('reply could not be encoded');
  }

  /** Stops reading and resolves once every owed reply is written (graceful shutdown). */
  drain(): Promise<void> {
    this.#closeWhenDrained = true;
    this.#socket.pause();
    return new Promise((resolve) => {
      if (this.closed) {
        resolve();
        return;
      }
      this.#socket.once('close', () => resolve());
      this.#flush();
    });
  }

  /** A CLIENT LIST line (without the newline), in Redis's field order. */
  describe(): string {
    const now = Date.now();
    let flags = '';
    if (this.subscriptionCount > 0) flags += 'P';
    if (this.blocked) flags += 'b';
    if (this.multi !== undefined) flags += 'x';
    if (this.watchDirty) flags += 'd';
    if (this.#closeWhenDrained) flags += 'c';
    if (flags === '') flags = 'N';
    const handle = (this.#socket as unknown as { _handle?: { fd?: number } })._handle;
    return [
      `id=${this.id}`,
      `addr=${this.address}`,
      `laddr=${this.localAddress}`,
      `fd=${handle?.fd ?? -1}`,
      `name=${this.name}`,
      `age=${Math.floor((now - this.createdMs) / 1000)}`,
      `idle=${Math.floor((now - this.lastInteractionMs) / 1000)}`,
      `flags=${flags}`,
      `db=${this.db}`,
      `sub=${this.channels.size}`,
      `psub=${this.patterns.size}`,
      'ssub=0',
      `multi=${this.multi === undefined ? -1 : this.multi.commands.length}`,
      `watch=${this.watched.size}`,
      `qbuf=${this.#decoder.bufferedBytes}`,
      'qbuf-free=0',
      'argv-mem=0',
      `multi-mem=${this.multi?.bytes ?? 0}`,
      'rbs=0',
      'rbp=0',
      'obl=0',
      `oll=${this.#slots.length - this.#slotHead}`,
      `omem=${this.outputBufferedBytes}`,
      `tot-mem=${this.outputBufferedBytes + this.#decoder.bufferedBytes}`,
      `events=${this.#paused ? 'w' : 'r'}`,
      `cmd=${this.lastCommand}`,
      'user=default',
      'redir=-1',
      `resp=${this.#protocol}`,
      `lib-name=${this.libName}`,
      `lib-ver=${this.libVersion}`,
    ].join(' ');
  }

  // ------------------------------------------------------------ input

  #onData(chunk: Buffer): void {
    if (this.closed) return;
    this.#server.stats.netInputBytes += chunk.length;
    try {
      this.#decoder.feed(chunk);
    } catch (error) {
      if (!(error instanceof QueryBufferLimitError)) throw error;
      this.#queryBufferExceeded(error);
      return;
    }
    this.#processInput();
  }

  /** Closes the client without a reply, as Redis does (client-query-buffer-limit). */
  #queryBufferExceeded(error: QueryBufferLimitError): void {
    this.#server.stats.queryBufferDisconnections++;
    this.#server.logger.warn({ client: this.address, id: this.id, bytes: error.bufferedBytes, limit: error.limitBytes, reason: error.message }, 'closing client that reached max query buffer length');
    this.kill('query buffer limit');
  }

  /** Runs complete requests from the decoder until it runs dry or backpressure says stop. */
  #processInput(): void {
    if (this.#processing) return;
    this.#processing = true;
    const dispatcher = this.#server.dispatcher;
    const turn = this.#server.turnBudget;
    let deferred = false;
    try {
      // Bounded: each pass runs at least one request or stops; the decoder holds at most the query buffer limit.
      while (true) {
        let stoppedForOutput = false;
        while (!this.closed && !this.#closeWhenDrained) {
          if (this.#mustStop()) {
            stoppedForOutput = true;
            break;
          }
          if (this.#decoder.bufferedBytes > 0 && !turn.hasTime(this)) {
            deferred = true;
            break;
          }
          let args: Buffer[] | undefined;
          try {
            args = this.#decoder.next();
          } catch (error) {
            if (error instanceof QueryBufferLimitError) {
              this.#queryBufferExceeded(error);
              break;
            }
            if (!(error instanceof ProtocolError)) throw error;
            this.#protocolError(error);
            break;
          }
          if (args === undefined) break;
          this.#executing = true;
          let outcome: ReturnType<Dispatcher['execute']>;
          try {
            outcome = dispatcher.execute(this, args);
          } finally {
            this.#executing = false;
          }
          this.#accept(outcome, dispatcher.ranLastRequest);
          if (this.#pushesAfterReply !== undefined) this.#pushAfterReply();
        }
        // Every request the client sent before its FIN has run (or waits in the dispatcher): close once they are answered.
        if (this.#inputEnded && !deferred && !stoppedForOutput && !this.closed) this.#inputDone = true;
        // Stopped for output: write now, to learn whether the socket takes it all. Otherwise with the iteration's burst.
        if (stoppedForOutput || this.closed || this.#closeWhenDrained || this.#inputDone) this.#flush();
        else this.#queueFlush();
        // The socket may have taken everything at once (the kernel buffers it): then go on with what is buffered.
        if (deferred || !stoppedForOutput || this.closed || this.#closeWhenDrained || this.#mustStop()) break;
      }
    } finally {
      this.#processing = false;
    }
    if (deferred) this.#defer(turn);
    else this.#updateReading();
  }

  /**
   * This iteration's budget ran out with requests left (TurnBudget): stop
   * reading, as under backpressure, and go on in a later slice, after the
   * connections deferred before this one.
   */
  #defer(turn: TurnBudget): void {
    if (this.#deferred) return;
    this.#deferred = true;
    this.#socket.pause();
    turn.defer(() => {
      this.#deferred = false;
      if (this.closed || this.#closeWhenDrained) return;
      this.#processInput();
      // This slice runs in the check phase, after this iteration's write burst: write now, not an iteration later.
      this.#writeIfQueued();
      if (!this.#deferred && !this.#paused && !this.closed && !this.#closeWhenDrained) this.#socket.resume();
    });
  }

  /** Queues (or writes) the outcome of one request. */
  #accept(outcome: Reply | Promise<Reply> | DurableReply, ran: boolean): void {
    if (outcome instanceof DurableReply) {
      this.#awaitDurable(outcome);
      return;
    }
    if (!(outcome instanceof Promise)) {
      if (this.#slotHead === this.#slots.length) this.#write(outcome, this.#protocol);
      else this.#slots.push({ reply: outcome, ready: true, protocol: this.#protocol, protocolFixed: true, closeAfter: false });
      return;
    }
    // A queued or held request runs later: the dispatcher says when (queuedRequestRan), in request order.
    const slot: Slot = { reply: undefined, ready: false, protocol: this.#protocol, protocolFixed: ran, closeAfter: false };
    if (this.#parkNextSlot) {
      this.#parkNextSlot = false;
      this.#parkedSlot = slot;
    }
    if (!ran) this.#unranSlots.push(slot);
    this.#slots.push(slot);
    this.#pending++;
    outcome.then(
      (reply) => this.#settle(slot, reply),
      (error: unknown) => {
        // The dispatcher turns failures into replies; a rejection here is a bug, reported but not fatal to other clients.
        this.#server.logger.error({ err: error, client: this.address }, 'reply promise rejected');
        this.#settle(slot, new ErrorReply('ERR internal error'));
      },
    );
  }

  /**
   * The dispatcher ran (or dropped) this client's oldest queued request: its
   * reply keeps the protocol of this moment. Queued requests of one client
   * run in the order they were read, so the oldest unran slot is that one.
   */
  queuedRequestRan(): void {
    const slot = this.#unranSlots[this.#unranHead];
    if (slot === undefined) return;
    this.#unranSlots[this.#unranHead++] = undefined as unknown as Slot;
    if (this.#unranHead === this.#unranSlots.length || (this.#unranHead > 1024 && this.#unranHead * 2 > this.#unranSlots.length)) {
      this.#unranSlots = this.#unranSlots.slice(this.#unranHead);
      this.#unranHead = 0;
    }
    slot.protocol = this.#protocol;
    slot.protocolFixed = true;
  }

  /**
   * A reply held until its writes are durable. Replies that wait on the same
   * promise (the engine's, for every write of one event-loop turn) join one
   * group that waits on it once; the slots stay in request order in #slots.
   */
  #awaitDurable(outcome: DurableReply): void {
    const slot: Slot = { reply: outcome.reply, ready: false, protocol: this.#protocol, protocolFixed: true, closeAfter: false };
    this.#slots.push(slot);
    this.#pending++;
    let group = this.#durableGroup;
    if (group === undefined || group.durability !== outcome.durability || group.settled) {
      const created: DurableGroup = { durability: outcome.durability, slots: [], settled: false };
      outcome.durability.then(
        () => this.#settleGroup(created, undefined),
        (error: unknown) => this.#settleGroup(created, () => outcome.failed(error)),
      );
      this.#durableGroup = group = created;
    }
    group.slots.push(slot);
  }

  /** The writes of a group's replies are durable (failure undefined), or failed: each reply becomes failure(). */
  #settleGroup(group: DurableGroup, failure: (() => Reply) | undefined): void {
    group.settled = true;
    if (this.#durableGroup === group) this.#durableGroup = undefined;
    for (const slot of group.slots) {
      if (failure !== undefined) slot.reply = failure();
      slot.ready = true;
    }
    this.#pending -= group.slots.length;
    group.slots = [];
    if (this.closed) return;
    this.#scheduleFlush();
  }

  #settle(slot: Slot, reply: Reply): void {
    if (slot === this.#parkedSlot) this.#parkedSlot = undefined;
    slot.reply = reply;
    slot.ready = true;
    if (!slot.protocolFixed) slot.protocol = this.#protocol;
    this.#pending--;
    if (this.closed) return;
    this.#scheduleFlush();
  }

  #protocolError(error: ProtocolError): void {
    this.#server.stats.protocolErrors++;
    // At debug, as Redis logs them at verbose: a port scanner or a stray HTTP client is no news at the default level.
    this.#server.logger.debug({ client: this.address, id: this.id, error: error.message }, 'protocol error from client');
    const reply = new ErrorReply(error.replyText);
    this.#slots.push({ reply, ready: true, protocol: this.#protocol, protocolFixed: true, closeAfter: true });
    this.#closeWhenDrained = true;
    this.#socket.pause();
  }

  // ------------------------------------------------------------ output

  /** Encodes `reply` into the output; false (and the client closed) when the encoder refuses it (#encodingFailed). */
  #write(reply: Reply, protocol: Protocol): boolean {
    const writer = this.#writer;
    writer.protocol = protocol;
    try {
      if (reply instanceof ReplySequence) for (const item of reply.items) writer.write(item);
      else writer.write(reply);
      return true;
    } catch (error) {
      this.#encodingFailed(error);
      return false;
    }
  }

  /** Moves ready slots at the head of the queue into the writer. */
  #drainSlots(): boolean {
    let closeNow = false;
    while (this.#slotHead < this.#slots.length) {
      const slot = this.#slots[this.#slotHead]!;
      if (!slot.ready) break;
      if (!this.#write(slot.reply!, slot.protocol)) return true;
      this.#slots[this.#slotHead++] = undefined as unknown as Slot;
      if (slot.closeAfter) {
        closeNow = true;
        break;
      }
    }
    if (this.#slotHead === this.#slots.length) {
      this.#slots = [];
      this.#slotHead = 0;
    } else if (this.#slotHead > 1024 && this.#slotHead * 2 > this.#slots.length) {
      this.#slots = this.#slots.slice(this.#slotHead);
      this.#slotHead = 0;
    }
    return closeNow;
  }

  /** Queues this connection's output for the iteration's write burst (OutputQueue). */
  #queueFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    outputQueue.add(this);
  }

  /** OutputQueue's call: writes what is ready, then reads again if settled replies were what held reading. */
  writeQueuedOutput(): void {
    this.#flushQueued = false;
    this.#flush();
    if (this.#resumeOwed) {
      this.#resumeOwed = false;
      this.#maybeResume();
      this.#writeIfQueued();
    }
  }

  /** Writes now what #queueFlush() queued (the queue's later call then finds nothing to write). */
  #writeIfQueued(): void {
    if (!this.#flushQueued) return;
    this.#flushQueued = false;
    this.#flush();
  }

  /** Replies settled (durability, a queued request, a push): write them with the iteration's burst. */
  #scheduleFlush(): void {
    this.#resumeOwed = true;
    this.#queueFlush();
  }

  /** Writes what is ready to the socket, enforces the output limits, and closes when asked to. */
  #flush(): void {
    if (this.closed) return;
    const closeNow = this.#drainSlots();
    if (this.closed) return; // a reply could not be encoded (#write)
    const writer = this.#writer;
    if (writer.bufferedBytes > 0) {
      const chunks = writer.takeChunks();
      let bytes = 0;
      if (chunks.length === 1) {
        bytes = chunks[0]!.length;
        this.#socket.write(chunks[0]!);
      } else {
        this.#socket.cork();
        for (const chunk of chunks) {
          bytes += chunk.length;
          this.#socket.write(chunk);
        }
        this.#socket.uncork();
      }
      this.#server.stats.netOutputBytes += bytes;
    }
    if (closeNow || ((this.#closeWhenDrained || this.#inputDone) && this.#slotHead === this.#slots.length && this.#pending === 0)) {
      this.#closeGracefully();
      return;
    }
    this.#checkOutputLimits();
  }

  /** Ends the connection after what was written: FIN now, the descriptor once the client's FIN comes or closeGraceMs pass. */
  #closeGracefully(): void {
    this.closed = true;
    const socket = this.#socket;
    socket.end();
    // Read (and drop) what the client still sends until its FIN, or 'close' never comes: a paused
    // socket (backpressure, a deferred slice, drain()) would not see the end of its input. Not
    // destroy() at once: closing with unread input sends a reset, which can cost the client its
    // last replies. But not forever either: a client that never closes would keep the descriptor.
    socket.resume();
    const timer = setTimeout(() => socket.destroy(), closeGraceMs);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    this.#server.removeClient(this);
  }

  /** Disconnects a client whose unsent output passed its class's hard limit, or its soft limit for too long. */
  #checkOutputLimits(): void {
    const limits = this.#server.config.clientOutputBufferLimit;
    const limit = this.subscriptionCount > 0 ? limits.pubsub : limits.normal;
    const bytes = this.outputBufferedBytes;
    let over = limit.hardBytes > 0 && bytes > limit.hardBytes;
    if (!over && limit.softBytes > 0 && bytes > limit.softBytes) {
      const now = Date.now();
      this.#softLimitSinceMs ??= now;
      over = now - this.#softLimitSinceMs > limit.softSeconds * 1000;
    } else if (bytes <= limit.softBytes) {
      this.#softLimitSinceMs = undefined;
    }
    if (!over) return;
    this.#server.stats.outputBufferDisconnections++;
    this.#server.logger.warn(
      { client: this.address, id: this.id, bytes, class: this.subscriptionCount > 0 ? 'pubsub' : 'normal' },
      'client scheduled to be closed ASAP for overcoming of output buffer limits',
    );
    this.kill('output buffer limit');
  }

  /** Called by the server's timer: a client over its soft limit may have stayed there too long. */
  checkLimits(): void {
    if (!this.closed) this.#checkOutputLimits();
  }

  // ------------------------------------------------------------ backpressure

  /** No request may run now: the client is blocked, or backpressure (#mustPause()). */
  #mustStop(): boolean {
    return this.blocked || this.#mustPause();
  }

  /** Stop reading the socket: too much unsent output, or too many replies waiting. Not for a blocked client (see the header). */
  #mustPause(): boolean {
    return this.#socket.writableLength + this.#writer.bufferedBytes > outputHighWaterBytes || this.#pending >= pendingRepliesMax;
  }

  #updateReading(): void {
    if (this.closed || this.#closeWhenDrained) return;
    if (this.#mustPause()) {
      if (!this.#paused) {
        this.#paused = true;
        this.#socket.pause();
      }
    } else if (this.#paused) {
      this.#paused = false;
      if (!this.#deferred) this.#socket.resume();
    }
  }

  /** After 'drain' or settled replies (an unblocked client's too): run requests already buffered, then read again. */
  #maybeResume(): void {
    if (this.closed || this.#closeWhenDrained || this.#deferred) return;
    if (this.#mustStop()) return;
    if (!this.#paused && this.#decoder.bufferedBytes === 0) return;
    this.#paused = false;
    this.#processInput();
    if (!this.#paused && !this.#deferred && !this.closed && !this.#closeWhenDrained) this.#socket.resume();
  }

  /**
   * The client's FIN: a half-close (`nc -N`, shutdown(SHUT_WR), socket.end(data)) still expects the
   * replies to what it sent, so the server allows half-open sockets and closes its side itself
   * (#processInput sets #inputDone once the requests read before the FIN have run; #flush() closes
   * when none of them is owed a reply). Unlike #closeWhenDrained, requests the dispatcher holds still
   * run, as Redis runs what it read before it reads the end of the connection. A blocked
   * client is dropped at once, as Redis frees a client whose connection ends: its command would
   * otherwise take an element for nobody.
   */
  #onEnd(): void {
    this.#inputEnded = true;
    if (this.closed || this.#closeWhenDrained) return;
    if (this.blocked) return this.dropBlocked();
    if (!this.#deferred && !this.#paused) this.#processInput();
  }

  /**
   * The dispatcher parked this client's command (BLPOP ... found nothing): its slot is the one
   * #accept makes next when the command ran at once (`direct`), else the oldest queued one (it ran
   * from the FIFO). Push messages go before that slot until it settles.
   */
  parked(direct: boolean): void {
    if (direct) this.#parkNextSlot = true;
    else this.#parkedSlot = this.#unranSlots[this.#unranHead];
  }

  /** The client sent its FIN (half-closed); the dispatcher asks before it parks a blocking command. */
  get inputEnded(): boolean {
    return this.#inputEnded;
  }

  /**
   * Drops a blocked client whose connection ended (#onEnd, or the dispatcher parking one after the
   * FIN): its command stops waiting at once, so nothing is taken for it (it gets no reply), and the
   * connection closes after the replies owed before it, once the reactions already queued have
   * settled them (a microtask later: requests it had queued may have been answered just now).
   */
  dropBlocked(): void {
    if (this.closed) return;
    this.#server.logger.debug({ client: this.address, id: this.id }, 'client closed its connection while blocked');
    this.#server.blocking.unblock(this.id, 'disconnect');
    queueMicrotask(() => {
      if (this.closed) return;
      this.#flush();
      if (!this.closed) this.#closeGracefully();
    });
  }

  #onClose(): void {
    if (!this.closed) {
      this.closed = true;
      this.#server.removeClient(this);
    }
  }
}
