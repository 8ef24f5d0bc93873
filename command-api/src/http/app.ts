import type { IncomingMessage, ServerResponse } from 'node:http';
import { commandApiOpenApi, type EventAppender, errorMessage } from '@usertags/contracts';
import {
  type Logger,
  mountFallbacks,
  mountOperational,
  type RequestHandler,
  refuseOtherMethods,
  sendProblem,
  targetIs,
  withHotRoutes,
} from '@usertags/runtime';
import express from 'express';
import type { CommandApiMetrics } from '../metrics.ts';
import { INGEST_PATH } from './ingest-route.ts';

export interface AppDeps {
  readonly ingestRoute: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  readonly log: Pick<EventAppender, 'checkReady'>;
  readonly metrics: CommandApiMetrics;
  readonly logger: Logger;
}

/**
 * The command API's request handler: `POST /user_tags` straight to the ingest
 * route, and the express app for everything else — the same route in the
 * other spellings express matches, the operational endpoints, and problem
 * answers.
 */
export function createApp(deps: AppDeps): RequestHandler {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'simple');

  // One handler for both ways in: straight from node:http, and through the router.
  const ingest: RequestHandler = (req, res) => {
    deps.ingestRoute(req, res).catch((error: unknown) => {
      // The route answers every failure itself; this is a defect, answered as the router's error handler would.
      deps.logger.error('unhandled error', { route: INGEST_PATH, error: errorMessage(error) });
      sendProblem(res, error);
    });
  };
  app.post(INGEST_PATH, ingest);
  refuseOtherMethods(app, INGEST_PATH, ['POST']);
  mountOperational(app, { checkReady: () => deps.log.checkReady(), registry: deps.metrics.registry, openapi: commandApiOpenApi() });
  mountFallbacks(app, deps.logger);
  return withHotRoutes(app, (req) => (req.method === 'POST' && targetIs(req.url, INGEST_PATH) ? ingest : undefined));
}
