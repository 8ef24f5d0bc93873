import { ContractError, commandApiOpenApi, type EventAppender } from '@usertags/contracts';
import type { Logger } from '@usertags/runtime';
import { sendProblem } from '@usertags/runtime';
import express, { type NextFunction, type Request, type Response } from 'express';
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

  const openapi = JSON.stringify(commandApiOpenApi());

  app.post(INGEST_PATH, (req, res, next) => {
    deps.ingestRoute(req, res).catch(next);
  });
  app.all(INGEST_PATH, (_req, res) => {
    res.setHeader('allow', 'POST');
    sendProblem(res, new ContractError('METHOD_NOT_ALLOWED', `${INGEST_PATH} accepts POST only`));
  });

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/ready', (_req, res) => {
    deps.log.checkReady().then(
      () => res.json({ status: 'ready' }),
      (error: unknown) => sendProblem(res, error),
    );
  });
  app.get('/metrics', (_req, res, next) => {
    deps.metrics.registry.metrics().then((text) => {
      res.setHeader('content-type', deps.metrics.registry.contentType);
      res.end(text);
    }, next);
  });
  app.get('/openapi.json', (_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(openapi);
  });

  app.use((req, res) => {
    sendProblem(res, new ContractError('NOT_FOUND', `no route for ${req.method} ${req.path}`));
  });
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    deps.logger.error('unhandled error', { error: error instanceof Error ? error.message : String(error) });
    sendProblem(res, error);
  });
  return app;
}
