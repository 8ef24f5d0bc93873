import { connect, type Socket } from 'node:net';

/** What came back on a raw connection: the parsed answer (if any) and when the server closed it. */
export interface RawAnswer {
  /** The status of the first answer, `undefined` when none arrived. */
  readonly status: number | undefined;
  /** Its headers, names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** Milliseconds from connecting until the server closed the connection, `undefined` if it was still open at the deadline. */
  readonly closedAfterMs: number | undefined;
}

function parseAnswer(text: string): Pick<RawAnswer, 'status' | 'headers' | 'body'> {
  // Interim answers (100 Continue) come before the real one.
  let raw = text;
  while (/^HTTP\/1\.[01] 1\d\d /.test(raw) && raw.includes('\r\n\r\n')) raw = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return { status: undefined, headers: {}, body: '' };
  const [statusLine = '', ...lines] = raw.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  return { status: Number.isNaN(status) ? undefined : status, headers, body: raw.slice(end + 4) };
}

function target(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
}

/**
 * Sends `request` as raw bytes on a new connection — whatever a real client
 * would never send (invalid methods, broken headers, bad percent-encoding) —
 * and collects what comes back until the server closes or `timeoutMs` passes.
 */
export function rawRequest(url: string, request: string | Buffer, timeoutMs = 5000): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(target(url));
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...parseAnswer(Buffer.concat(chunks).toString('utf8')), closedAfterMs: closed ? Date.now() - started : undefined });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    socket.write(request);
  });
}

/**
 * A slow client (slow loris): sends `atOnce` on connecting, then `request`
 * one byte every `intervalMs`, never faster, and records whether and when the
 * server gives up on it.
 */
export class SlowClient {
  readonly answer: Promise<RawAnswer>;
  private readonly socket: Socket;

  constructor(url: string, request: string, intervalMs: number, atOnce = '') {
    this.socket = connect(target(url));
    const socket = this.socket;
    const started = Date.now();
    const chunks: Buffer[] = [];
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    this.answer = new Promise((resolve) => {
      const closed = () => {
        clearInterval(timer);
        resolve({ ...parseAnswer(Buffer.concat(chunks).toString('utf8')), closedAfterMs: Date.now() - started });
      };
      socket.on('data', (d) => chunks.push(d));
      socket.on('error', () => {});
      socket.on('close', closed);
    });
    socket.on('connect', () => {
      if (atOnce.length > 0) socket.write(atOnce);
      timer = setInterval(() => {
        if (sent < request.length && socket.writable) socket.write(request.slice(sent, ++sent));
      }, intervalMs);
    });
  }

  /** Closes the connection from the client's side. */
  close(): void {
    this.socket.destroy();
  }
}

/**
 * Two requests whose bodies never arrive whole: one sends `head` and a few bytes of `body`, then its client
 * goes away; the other sends a byte every 100 ms until the server's request deadline answers it, which must
 * be 408. For tests of how a server counts and logs such requests.
 */
export async function cutShortThenTooSlow(url: string, head: string, body: string): Promise<void> {
  const leaving = new SlowClient(url, body, 20, head);
  await new Promise((r) => setTimeout(r, 200));
  leaving.close();
  const slow = new SlowClient(url, body, 100, head);
  const answer = await slow.answer;
  if (answer.status !== 408) throw new Error(`a body too slow was answered ${answer.status}, not 408`);
}
