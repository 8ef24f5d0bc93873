import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/**
 * The HTTP server around the express app, with timeouts that bound slow
 * clients. (A route in front of express's router was measured and gave no
 * gain; see docs/benchmarks.md.)
 */
export function createHttpServer(app: (req: IncomingMessage, res: ServerResponse) => void): Server {
  const server = createServer(app);
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 30_000;
  return server;
}
