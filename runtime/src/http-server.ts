import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ContractError, toProblem } from '@usertags/contracts';
import { markTimedOut } from './cut-short.ts';
import type { Logger } from './logger.ts';
import { sendProblem } from './problem.ts';

export interface HttpServerOptions {
  /** Longest time a client may take to send a request's headers (`HTTP_HEADERS_TIMEOUT_MS`). */
  readonly headersTimeoutMs: number;
  /** Longest time a client may take to send a whole request, body included (`HTTP_REQUEST_TIMEOUT_MS`). */
  readonly requestTimeoutMs: number;
  /** Where refused connections are reported, at debug level and without request data. */
  readonly logger?: Logger;
}

/** The timeouts every program uses unless configured otherwise. */
const HTTP_TIMEOUT_DEFAULTS = { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 } as const;

/**
 * The HTTP server around an express app, with timeouts that bound slow
 * clients. A request node:http refuses before any handler sees it (not HTTP,
 * headers over 16 KiB, too slow) is answered with a problem body like every
 * other refusal, then the connection is closed.
 */
export function createHttpServer(
  app: (req: IncomingMessage, res: ServerResponse) => void,
  options: HttpServerOptions = HTTP_TIMEOUT_DEFAULTS,
): Server {
  const server = createServer(
    {
      // Checked below instead, so the refusal is a problem body like every other.
      requireHostHeader: false,
      headersTimeout: options.headersTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      // node:http checks the two timeouts on this period (30 s by default), which would let a slow client stay far longer.
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(options.headersTimeoutMs / 2))),
    },
    (req, res) => {
      if (req.httpVersion === '1.1' && req.headers.host === undefined) {
        res.setHeader('connection', 'close');
        sendProblem(res, new ContractError('INVALID_REQUEST', 'an HTTP/1.1 request needs a Host header'));
      } else app(req, res);
    },
  );
  // Any Expect but 100-continue (which node:http answers itself).
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('connection', 'close');
    sendProblem(res, new ContractError('EXPECTATION_FAILED', 'only "Expect: 100-continue" is supported'));
  });
  // CONNECT asks for a tunnel, which no program offers; without this node:http would drop the connection unanswered.
  server.on('connect', (_req: IncomingMessage, socket: Socket) => {
    refuse(new ContractError('METHOD_NOT_ALLOWED', 'CONNECT is not supported'), socket);
  });
  server.keepAliveTimeout = 30_000;
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    options.logger?.debug('refused a connection', { code: error.code ?? error.name });
    // A handler may still be reading this request's body: it will see the body end early and must count a 408, not a failure.
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') markTimedOut(socket);
    refuse(error, socket);
  });
  return server;
}

/** A node:http request handler. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Whether a request target is `path` itself, with or without a query: the
 * plain origin-form a client sends, and the only form a hot route takes
 * (any other spelling the router would also match goes to the router).
 */
export function targetIs(url: string | undefined, path: string): boolean {
  return url?.startsWith(path) === true && (url.length === path.length || url.charCodeAt(path.length) === 63); // '?'
}

/**
 * Hands each request `pick` returns a handler for straight to that handler,
 * and every other request to `app` (the express app). express costs every
 * request its router's walk and the prototypes it sets on the request and
 * the response; the routes that carry the load skip that, while every other
 * path, method and form of a target is routed by express as before.
 */
export function withHotRoutes(app: RequestHandler, pick: (req: IncomingMessage) => RequestHandler | undefined): RequestHandler {
  return (req, res) => {
    const hot = pick(req);
    if (hot === undefined) app(req, res);
    else hot(req, res);
  };
}

function refusal(error: NodeJS.ErrnoException | ContractError): ContractError {
  if (error instanceof ContractError) return error;
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new ContractError('HEADERS_TOO_LARGE', 'the request line and headers are larger than the server accepts');
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return new ContractError('PAYLOAD_TOO_LARGE', 'the chunk extensions are larger than the server accepts');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new ContractError('REQUEST_TIMEOUT', 'the request was not received in time');
    default:
      return new ContractError('INVALID_REQUEST', `the request is not valid HTTP/1.1 (${error.code ?? 'parse error'})`);
  }
}

/** Answers a refused request with a problem (unless a response has begun on the socket) and closes the connection. */
function refuse(error: NodeJS.ErrnoException | ContractError, socket: Socket): void {
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (socket.writable && (inFlight === undefined || inFlight === null || !inFlight.headersSent)) {
    const problem = toProblem(refusal(error));
    const body = JSON.stringify(problem);
    socket.end(
      `HTTP/1.1 ${problem.status} ${problem.title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
    // Read and discard what the client is still sending, so closing does not reset the connection before it reads the answer.
    socket.resume();
    setTimeout(() => socket.destroy(), 1000).unref();
  } else {
    socket.destroy();
  }
}
