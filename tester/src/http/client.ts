import net from 'node:net';
import tls from 'node:tls';
import type { Outcome } from '../core/stats.ts';

/** One endpoint's connection pool. */
export interface HttpTarget {
  /**
   * Sends one request and resolves (never rejects) with how it ended. The
   * timeout covers the whole exchange, answer body included.
   */
  request(method: 'GET' | 'POST', path: string, body: string, timeoutMs: number, readBody: boolean): Promise<Outcome>;
  close(): void;
}

/**
 * A kept-alive connection is not reused after this long idle: servers close
 * idle connections after a few seconds (Node's default is 5 s), and a request
 * written into one that is closing would fail for a reason of the client's.
 */
const IDLE_REUSE_MS = 2000;

/**
 * A keep-alive HTTP/1.1 client written for the tester's one job: many small
 * requests per second at the lowest CPU cost, because the tester shares the
 * machine with the system it measures. Node's `http` client spends about
 * 50 µs of CPU per request and this one about 22 µs (same server, same rate:
 * docs/tester.md), which at 10,000 tags/s is a third of a core given back.
 *
 * Each request in flight has a connection of its own (no pipelining, no
 * queue: the caller bounds the requests in flight), the one idle longest
 * (first in, first out) or newly opened. First in, first out keeps every
 * connection a burst opened in use, so none sits idle past IDLE_REUSE_MS while
 * traffic goes on: a stack used the top few, and each burst past them found
 * the ones below too old, closed them and opened new ones (about 20 a second
 * in the end-to-end run at 4,000 tags/s). Answers may have a Content-Length, chunked
 * transfer coding or run to the end of the connection; 1xx interim answers
 * are skipped. Anything the parser does not understand ends the exchange as
 * an error and the connection is closed.
 */
export function createHttpTarget(baseUrl: string): HttpTarget {
  const url = new URL(baseUrl);
  const secure = url.protocol === 'https:';
  const port = Number(url.port || (secure ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const prefix = url.pathname.replace(/\/$/, '');
  /** Idle connections, the longest idle first. */
  const idle: Connection[] = [];
  const open = new Set<Connection>();

  const connect = (): Connection => {
    const socket = secure ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host }) : net.connect({ host, port });
    const connection = new Connection(socket, (c) => {
      open.delete(c);
      const i = idle.indexOf(c);
      if (i >= 0) idle.splice(i, 1);
    });
    open.add(connection);
    return connection;
  };

  const take = (now: number): Connection => {
    for (let c = idle.shift(); c !== undefined; c = idle.shift()) {
      if (now - c.idleSince < IDLE_REUSE_MS && c.usable) return c;
      c.destroy();
    }
    return connect();
  };

  return {
    request(method, path, body, timeoutMs, readBody) {
      const started = performance.now();
      const connection = take(started);
      return new Promise<Outcome>((resolve) => {
        const timer = setTimeout(() => connection.fail('timeout'), timeoutMs);
        connection.exchange(
          `${method} ${prefix}${path} HTTP/1.1\r\nhost: ${url.host}\r\n${body.length > 0 ? 'content-type: application/json\r\n' : ''}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
          method,
          readBody,
          (result) => {
            clearTimeout(timer);
            const latencyMs = performance.now() - started;
            if (result.kind === 'answered') {
              if (result.reusable) {
                connection.idleSince = performance.now();
                idle.push(connection);
              }
              resolve({ kind: 'answered', status: result.status, body: result.body, latencyMs });
            } else if (result.kind === 'timeout') resolve({ kind: 'timeout', status: 0, body: '', latencyMs });
            else resolve({ kind: 'error', status: 0, body: '', error: result.error, latencyMs });
          },
        );
      });
    },
    close() {
      for (const c of [...open]) c.destroy();
      idle.length = 0;
    },
  };
}

type ExchangeResult =
  | { readonly kind: 'answered'; readonly status: number; readonly body: string; readonly reusable: boolean }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'error'; readonly error: string };

const CRLF_CRLF = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');
/** Bounds on what the parser holds before it gives up on an answer: its head and one chunk-size line. */
const MAX_HEAD_BYTES = 64 * 1024;
const MAX_LINE_BYTES = 1024;

/** Where the parser is in an answer. */
const Phase = {
  Idle: 0,
  Head: 1,
  Length: 2,
  ChunkSize: 3,
  ChunkData: 4,
  ChunkDataEnd: 5,
  Trailers: 6,
  UntilClose: 7,
} as const;
type Phase = (typeof Phase)[keyof typeof Phase];

/** One kept-alive connection and the parser of the answer it is waiting for. */
class Connection {
  idleSince = 0;
  private readonly socket: net.Socket;
  private readonly onGone: (c: Connection) => void;
  private gone = false;
  private phase: Phase = Phase.Idle;
  private pending: Buffer | undefined;
  private method = 'GET';
  private readBody = false;
  private done: ((r: ExchangeResult) => void) | undefined;
  private status = 0;
  private keepAlive = true;
  private remaining = 0;
  private chunks: Buffer[] = [];

  constructor(socket: net.Socket, onGone: (c: Connection) => void) {
    this.socket = socket;
    this.onGone = onGone;
    socket.setNoDelay(true);
    socket.on('data', (data: Buffer) => this.onData(data));
    socket.on('end', () => this.onEnd());
    socket.on('error', (error: NodeJS.ErrnoException) => this.fail(error.code ?? error.message));
    socket.on('close', () => this.fail('connection closed before the answer was complete'));
  }

  get usable(): boolean {
    return !this.gone && this.phase === Phase.Idle;
  }

  exchange(request: string, method: string, readBody: boolean, done: (r: ExchangeResult) => void): void {
    this.method = method;
    this.readBody = readBody;
    this.done = done;
    this.startHead();
    this.socket.write(request);
  }

  /** Ends the exchange in flight (if any) without an answer, and closes the connection. */
  fail(reason: string): void {
    const done = this.done;
    this.done = undefined;
    this.destroy();
    done?.(reason === 'timeout' ? { kind: 'timeout' } : { kind: 'error', error: reason });
  }

  destroy(): void {
    if (this.gone) return;
    this.gone = true;
    this.phase = Phase.Idle;
    this.socket.destroy();
    this.onGone(this);
  }

  private startHead(): void {
    this.phase = Phase.Head;
    this.status = 0;
    this.keepAlive = true;
    this.chunks = [];
  }

  private onEnd(): void {
    if (this.phase === Phase.UntilClose) this.complete(false);
    else this.fail('connection closed before the answer was complete');
  }

  private onData(data: Buffer): void {
    const buf = this.pending === undefined ? data : Buffer.concat([this.pending, data]);
    this.pending = undefined;
    let at = 0;
    while (at < buf.length && !this.gone) {
      switch (this.phase) {
        case Phase.Idle:
          // Bytes nobody asked for: the connection can no longer be trusted.
          this.destroy();
          return;
        case Phase.Head: {
          const end = buf.indexOf(CRLF_CRLF, at);
          if (end < 0) {
            this.keep(buf, at, MAX_HEAD_BYTES);
            return;
          }
          if (!this.parseHead(buf.toString('latin1', at, end))) return;
          at = end + 4;
          break;
        }
        case Phase.Length: {
          at = this.takeBody(buf, at);
          if (this.remaining === 0) this.complete(this.keepAlive && at === buf.length);
          break;
        }
        case Phase.ChunkSize: {
          const end = buf.indexOf(CRLF, at);
          if (end < 0) {
            this.keep(buf, at, MAX_LINE_BYTES);
            return;
          }
          const line = buf.toString('latin1', at, end);
          const size = /^[0-9a-fA-F]{1,8}/.exec(line);
          if (size === null) {
            this.fail(`bad chunk size line ${JSON.stringify(line.slice(0, 40))}`);
            return;
          }
          this.remaining = Number.parseInt(size[0], 16);
          this.phase = this.remaining === 0 ? Phase.Trailers : Phase.ChunkData;
          at = end + 2;
          break;
        }
        case Phase.ChunkData: {
          at = this.takeBody(buf, at);
          if (this.remaining === 0) this.phase = Phase.ChunkDataEnd;
          break;
        }
        case Phase.ChunkDataEnd: {
          if (buf.length - at < 2) {
            this.keep(buf, at, 2);
            return;
          }
          if (buf[at] !== 13 || buf[at + 1] !== 10) {
            this.fail('chunk data not followed by CRLF');
            return;
          }
          at += 2;
          this.phase = Phase.ChunkSize;
          break;
        }
        case Phase.Trailers: {
          // Trailer lines are skipped; an empty line ends the answer.
          const end = buf.indexOf(CRLF, at);
          if (end < 0) {
            this.keep(buf, at, MAX_HEAD_BYTES);
            return;
          }
          const empty = end === at;
          at = end + 2;
          if (empty) this.complete(this.keepAlive && at === buf.length);
          break;
        }
        case Phase.UntilClose:
          if (this.readBody) this.chunks.push(buf.subarray(at));
          at = buf.length;
          break;
      }
    }
  }

  /** Takes up to `remaining` body bytes from `at` (kept when the body is read); returns where parsing goes on. */
  private takeBody(buf: Buffer, at: number): number {
    const n = Math.min(this.remaining, buf.length - at);
    if (this.readBody) this.chunks.push(buf.subarray(at, at + n));
    this.remaining -= n;
    return at + n;
  }

  /** Keeps the unparsed rest for the next data event, up to `max` bytes. */
  private keep(buf: Buffer, at: number, max: number): void {
    if (buf.length - at > max) {
      this.fail('answer head too long');
      return;
    }
    this.pending = Buffer.from(buf.subarray(at));
  }

  private parseHead(head: string): boolean {
    const lines = head.split('\r\n');
    const statusLine = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(lines[0] ?? '');
    if (statusLine === null) {
      this.fail(`not an HTTP/1.x status line: ${JSON.stringify((lines[0] ?? '').slice(0, 40))}`);
      return false;
    }
    const status = Number(statusLine[2]);
    let length: number | undefined;
    let chunked = false;
    let keepAlive = statusLine[1] === '1';
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line
        .slice(colon + 1)
        .trim()
        .toLowerCase();
      if (name === 'content-length') {
        if (!/^\d+$/.test(value)) {
          this.fail(`bad content-length ${JSON.stringify(value.slice(0, 40))}`);
          return false;
        }
        length = Number(value);
      } else if (name === 'transfer-encoding') chunked = value.split(',').at(-1)?.trim() === 'chunked';
      else if (name === 'connection') {
        const tokens = value.split(',').map((t) => t.trim());
        if (tokens.includes('close')) keepAlive = false;
        else if (tokens.includes('keep-alive')) keepAlive = true;
      }
    }
    if (status >= 100 && status < 200 && status !== 101) {
      // An interim answer: the real one follows.
      this.startHead();
      return true;
    }
    this.status = status;
    this.keepAlive = keepAlive;
    if (this.method === 'HEAD' || status === 204 || status === 304) this.complete(keepAlive);
    else if (chunked) this.phase = Phase.ChunkSize;
    else if (length !== undefined) {
      this.remaining = length;
      this.phase = Phase.Length;
      if (length === 0) this.complete(keepAlive);
    } else {
      this.keepAlive = false;
      this.phase = Phase.UntilClose;
    }
    return true;
  }

  private complete(reusable: boolean): void {
    const done = this.done;
    this.done = undefined;
    this.phase = Phase.Idle;
    const body = this.readBody ? Buffer.concat(this.chunks).toString('utf8') : '';
    this.chunks = [];
    if (!reusable) this.destroy();
    done?.({ kind: 'answered', status: this.status, body, reusable: reusable && !this.gone });
  }
}
