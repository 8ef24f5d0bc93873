import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** The HTTP server around an express app, with timeouts that bound slow clients. */
export function createHttpServer(app: (req: IncomingMessage, res: ServerResponse) => void): Server {
  const server = createServer(app);
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 30_000;
  return server;
}
