import { commandApiOpenApi, type EventAppender } from '@usertags/contracts';
import { type Logger, mountFallbacks, mountOperational, refuseOtherMethods } from '@usertags/runtime';
import express, { type Request, type Response } from 'express';
import type { CommandApiMetrics } from '../metrics.ts';
import { INGEST_PATH } from './ingest-route.ts';

export interface AppDeps {
  readonly ingestRoute: (req: Request, res: Response) => Promise<void>;
  readonly log: Pick<EventAppender, 'checkReady'>;
  readonly metrics: CommandApiMetrics;
  readonly logger: Logger;
}

/** The express app: the ingest route, operational endpoints, and problem answers for everything else. */
export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'simple');

  app.post(INGEST_PATH, (req, res, next) => {
    deps.ingestRoute(req, res).catch(next);
  });
  refuseOtherMethods(app, INGEST_PATH, ['POST']);
  mountOperational(app, { checkReady: () => deps.log.checkReady(), registry: deps.metrics.registry, openapi: commandApiOpenApi() });
  mountFallbacks(app, deps.logger);
  return app;
}
