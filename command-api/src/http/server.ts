import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { INGEST_PATH } from './ingest-route.ts';

export interface ServerOptions {
  /** Serve `POST /user_tags` without going through express's router (measured in docs/benchmarks.md). */
  readonly fastPath: boolean;
}

/**
 * The HTTP server: the hot route may bypass express; everything else goes
 * through the express app. Timeouts bound slow clients.
 */
export function createHttpServer(
  app: (req: IncomingMessage, res: ServerResponse) => void,
  ingestRoute: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  options: ServerOptions,
): Server {
  const server = createServer((req, res) => {
    if (options.fastPath && req.method === 'POST' && req.url === INGEST_PATH) {
      ingestRoute(req, res).catch((error: unknown) => {
        res.destroy(error instanceof Error ? error : undefined);
      });
      return;
    }
    app(req, res);
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 30_000;
  return server;
}
