// Pub/Sub: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBLISH PUBSUB, and
// the registry of who listens to what (redis/redis src/pubsub.c).
//
// Messages and subscription confirmations are push replies: RESP3 clients
// receive `>` frames, RESP2 clients arrays (the encoder degrades PushReply).
// A message joins the receiver's reply queue behind any reply it is still
// owed, so each connection's stream stays in order. In RESP2 a client with
// any subscription is in subscribed mode: the dispatcher allows only the
// commands flagged 'pubsub' ((P)SUBSCRIBE, (P)UNSUBSCRIBE, PING, QUIT, RESET).

import type { CommandHandler, CommandSpec } from '../command.js';
import { ReplySequence, type Connection } from '../connection.js';
import { stringMatch as globMatch } from '../../../lib/keyspace/glob.js';
import { PushReply, SimpleReply, errors, type Reply } from '../reply.js';
import { clientOf, serverOf } from './connection.js';

const words = {
  subscribe: Buffer.from('subscribe'),
  unsubscribe: Buffer.from('unsubscribe'),
  psubscribe: Buffer.from('psubscribe'),
  punsubscribe: Buffer.from('punsubscribe'),
  message: Buffer.from('message'),
  pmessage: Buffer.from('pmessage'),
};

/** Who listens to which channel and pattern. Channel names are kept as latin1 strings (one char per byte). */
export class PubSubRegistry {
  readonly #channels = new Map<string, Set<Connection>>();
  readonly #patterns = new Map<string, { pattern: Buffer; clients: Set<Connection> }>();

  get channelCount(): number {
    return this.#channels.size;
  }

  get patternCount(): number {
    return this.#patterns.size;
  }

  /** Adds `client` to `channel`; false when it was already there. */
  subscribe(client: Connection, channel: Buffer): boolean {
    const name = channel.toString('latin1');
    if (client.channels.has(name)) return false;
    client.channels.add(name);
    let clients = this.#channels.get(name);
    if (clients === undefined) this.#channels.set(name, (clients = new Set()));
    clients.add(client);
    return true;
  }

  unsubscribe(client: Connection, name: string): boolean {
    if (!client.channels.delete(name)) return false;
    const clients = this.#channels.get(name);
    clients?.delete(client);
    if (clients?.size === 0) this.#channels.delete(name);
    return true;
  }

  psubscribe(client: Connection, pattern: Buffer): boolean {
    const name = pattern.toString('latin1');
    if (client.patterns.has(name)) return false;
    client.patterns.add(name);
    let entry = this.#patterns.get(name);
    if (entry === undefined) this.#patterns.set(name, (entry = { pattern: Buffer.from(pattern), clients: new Set() }));
    entry.clients.add(client);
    return true;
  }

  punsubscribe(client: Connection, name: string): boolean {
    if (!client.patterns.delete(name)) return false;
    const entry = this.#patterns.get(name);
    entry?.clients.delete(client);
    if (entry?.clients.size === 0) this.#patterns.delete(name);
    return true;
  }

  /** Drops every subscription of a client that goes away or RESETs. */
  removeClient(client: Connection): void {
    for (const name of [...client.channels]) this.unsubscribe(client, name);
    for (const name of [...client.patterns]) this.punsubscribe(client, name);
  }

  /**
   * Delivers `message` to every subscriber of `channel` and of each matching pattern.
   * @returns the number of deliveries, as PUBLISH replies
   */
  publish(channel: Buffer, message: Buffer): number {
    let receivers = 0;
    const subscribers = this.#channels.get(channel.toString('latin1'));
    if (subscribers !== undefined) {
      for (const client of subscribers) {
        client.push(new PushReply([words.message, channel, message]));
        receivers++;
      }
    }
    if (this.#patterns.size > 0) {
      for (const { pattern, clients } of this.#patterns.values()) {
        if (!globMatch(pattern, channel)) continue;
        for (const client of clients) {
          client.push(new PushReply([words.pmessage, pattern, channel, message]));
          receivers++;
        }
      }
    }
    return receivers;
  }

  /** Active channels (with at least one subscriber), optionally matching a glob. */
  channels(pattern: Buffer | undefined): Buffer[] {
    const names: Buffer[] = [];
    for (const name of this.#channels.keys()) {
      const channel = Buffer.from(name, 'latin1');
      if (pattern === undefined || globMatch(pattern, channel)) names.push(channel);
    }
    return names;
  }

  subscriberCount(channel: Buffer): number {
    return this.#channels.get(channel.toString('latin1'))?.size ?? 0;
  }
}

function registry(ctx: Parameters<CommandHandler>[0]): PubSubRegistry {
  return serverOf(ctx).pubsub;
}

const subscribe: CommandHandler = (ctx, args) => {
  const client = clientOf(ctx);
  const pubsub = registry(ctx);
  const replies: Reply[] = [];
  for (let index = 1; index < args.length; index++) {
    pubsub.subscribe(client, args[index]!);
    replies.push(new PushReply([words.subscribe, args[index]!, client.subscriptionCount]));
  }
  return new ReplySequence(replies);
};

const psubscribe: CommandHandler = (ctx, args) => {
  const client = clientOf(ctx);
  const pubsub = registry(ctx);
  const replies: Reply[] = [];
  for (let index = 1; index < args.length; index++) {
    pubsub.psubscribe(client, args[index]!);
    replies.push(new PushReply([words.psubscribe, args[index]!, client.subscriptionCount]));
  }
  return new ReplySequence(replies);
};

const unsubscribe: CommandHandler = (ctx, args) => {
  const client = clientOf(ctx);
  const pubsub = registry(ctx);
  const names = args.length > 1 ? args.slice(1).map((arg) => arg.toString('latin1')) : [...client.channels];
  if (names.length === 0) return new ReplySequence([new PushReply([words.unsubscribe, null, client.subscriptionCount])]);
  const replies: Reply[] = [];
  for (const name of names) {
    pubsub.unsubscribe(client, name);
    replies.push(new PushReply([words.unsubscribe, Buffer.from(name, 'latin1'), client.subscriptionCount]));
  }
  return new ReplySequence(replies);
};

const punsubscribe: CommandHandler = (ctx, args) => {
  const client = clientOf(ctx);
  const pubsub = registry(ctx);
  const names = args.length > 1 ? args.slice(1).map((arg) => arg.toString('latin1')) : [...client.patterns];
  if (names.length === 0) return new ReplySequence([new PushReply([words.punsubscribe, null, client.subscriptionCount])]);
  const replies: Reply[] = [];
  for (const name of names) {
    pubsub.punsubscribe(client, name);
    replies.push(new PushReply([words.punsubscribe, Buffer.from(name, 'latin1'), client.subscriptionCount]));
  }
  return new ReplySequence(replies);
};

const publish: CommandHandler = (ctx, args) => {
  const receivers = registry(ctx).publish(args[1]!, args[2]!);
  serverOf(ctx).stats.messagesPublished++;
  return receivers;
};

const pubsubHelp = [
  'PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CHANNELS [<pattern>]',
  "    Return the currently active channels matching a <pattern> (default: '*').",
  'NUMPAT',
  '    Return number of subscriptions to patterns.',
  'NUMSUB [<channel> ...]',
  '    Return the number of subscribers for the specified channels, excluding',
  '    pattern subscriptions(default: no channels).',
  'HELP',
  '    Prints this help.',
];

function command(name: string, arity: number, flags: CommandSpec['flags'], summary: string, syntax: string, complexity: string, handler: CommandHandler): CommandSpec {
  return { name, arity, flags, firstKey: 0, lastKey: 0, keyStep: 0, summary, syntax, complexity, handler };
}

export const pubsubCommands: CommandSpec[] = [
  command('subscribe', -2, ['pubsub', 'loading'], 'Listens for messages published to channels', 'channel ...', 'O(N) where N is the number of channels to subscribe to', subscribe),
  command('unsubscribe', -1, ['pubsub', 'loading'], 'Stops listening to messages posted to channels', '[channel ...]', 'O(N) where N is the number of channels to unsubscribe', unsubscribe),
  command('psubscribe', -2, ['pubsub', 'loading'], 'Listens for messages published to channels that match one or more patterns', 'pattern ...', 'O(N) where N is the number of patterns to subscribe to', psubscribe),
  command('punsubscribe', -1, ['pubsub', 'loading'], 'Stops listening to messages published to channels that match one or more patterns', '[pattern ...]', 'O(N) where N is the number of patterns to unsubscribe', punsubscribe),
  command('publish', 3, ['loading', 'fast'], 'Posts a message to a channel', 'channel message', 'O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns', publish),
  {
    ...command('pubsub', -2, ['loading'], 'A container for Pub/Sub commands', '', 'Depends on subcommand', (_ctx, args) => errors.unknownSubcommand('pubsub', args[1]!.toString('latin1'))),
    subcommands: {
      channels: {
        ...command('channels', -2, ['loading'], 'Returns the active channels', '[pattern]', 'O(N) where N is the number of active channels', (ctx, args) => {
          // Redis's pubsubCommand takes CHANNELS with at most one pattern, else its subcommand syntax error.
          if (args.length > 3) return errors.subcommandSyntax('pubsub', args[1]!.toString('latin1'));
          return registry(ctx).channels(args[2]);
        }),
      },
      numsub: command('numsub', -2, ['loading'], 'Returns a count of subscribers to channels', '[channel ...]', 'O(N) for the NUMSUB subcommand, where N is the number of requested channels', (ctx, args) => {
        const reply: Reply[] = [];
        for (const channel of args.slice(2)) reply.push(channel, registry(ctx).subscriberCount(channel));
        return reply;
      }),
      numpat: command('numpat', 2, ['loading'], 'Returns a count of unique pattern subscriptions', '', 'O(1)', (ctx) => registry(ctx).patternCount),
      help: command('help', 2, ['loading'], 'Returns helpful text about the different subcommands', '', 'O(1)', () => pubsubHelp.map((line) => new SimpleReply(line))),
    },
  },
];
