// A minimal RESP client for the tools/dev comparison scripts: one socket,
// one request at a time, replies decoded by service/resp/reply-decoder.ts.
// Not for production use: no pipelining, no reconnects, no timeouts beyond
// the socket's own errors.

import { connect, type Socket } from 'node:net';
import { encodeCommand } from '../dump.js';
import { ReplyDecoder, type ReplyValue } from '../../service/resp/reply-decoder.js';

export class DevClient {
  readonly #socket: Socket;
  readonly #decoder = new ReplyDecoder();
  #waiting: { resolve: (reply: ReplyValue) => void; reject: (error: Error) => void } | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk) => {
      this.#decoder.feed(chunk);
      for (let reply = this.#decoder.next(); reply !== undefined; reply = this.#decoder.next()) {
        const waiting = this.#waiting;
        this.#waiting = undefined;
        waiting?.resolve(reply);
      }
    });
    socket.on('error', (error) => this.#waiting?.reject(error));
  }

  /** Connects to 127.0.0.1:port. */
  static connect(port: number): Promise<DevClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1' }, () => {
        socket.off('error', reject);
        resolve(new DevClient(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Sends one command and returns its reply (errors come back as ErrorReply values, not thrown). */
  call(...args: (string | Buffer)[]): Promise<ReplyValue> {
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#socket.write(encodeCommand(args.map((arg) => (typeof arg === 'string' ? Buffer.from(arg) : arg))));
    });
  }

  close(): void {
    this.#socket.destroy();
  }
}

/** A port from `--name PORT` in argv, or the fallback. */
export function portArgument(argv: readonly string[], name: string, fallback: number): number {
  const index = argv.indexOf(`--${name}`);
  const port = index === -1 ? fallback : Number(argv[index + 1]);
  if (!Number.isInteger(port) || port <= 0 || port > 65_535) throw new Error(`--${name} needs a port number`);
  return port;
}
