import { ContractError, errorMessage } from '@usertags/contracts';
import type { Express, NextFunction, Request, Response } from 'express';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.ts';
import { sendProblem } from './problem.ts';
import { telemetryMetricsText } from './telemetry.ts';
import { shareWorkerMetrics } from './worker-metrics.ts';

export interface OperationalDeps {
  /** Resolves when the program's dependencies are reachable. */
  readonly checkReady: () => Promise<void>;
  readonly registry: Registry;
  /** Served at /openapi.json when given. */
  readonly openapi?: unknown;
}

/**
 * Answers every method `path` does not serve with a 405 problem and an
 * `Allow` header naming those it does, HEAD wherever GET is (express answers
 * HEAD with the GET route). Mount it after the path's own routes. `name` is
 * how the detail names the path (`/user_profiles/{cookie}`, not the cookie).
 */
export function refuseOtherMethods(app: Express, path: string | RegExp, served: readonly string[], name: string = String(path)): void {
  const allow = served.flatMap((method) => (method === 'GET' && !served.includes('HEAD') ? ['GET', 'HEAD'] : [method])).join(', ');
  const detail = `${name} accepts ${allow} only`;
  app.all(path, (_req, res) => {
    res.setHeader('allow', allow);
    sendProblem(res, new ContractError('METHOD_NOT_ALLOWED', detail));
  });
}

/** `/health`, `/ready`, `/metrics` and (optionally) `/openapi.json`, the same on every program; other methods on them get 405. */
export function mountOperational(app: Express, deps: OperationalDeps): void {
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  refuseOtherMethods(app, '/health', ['GET']);
  app.get('/ready', (_req, res) => {
    deps.checkReady().then(
      () => res.json({ status: 'ready' }),
      (error: unknown) => sendProblem(res, error),
    );
  });
  refuseOtherMethods(app, '/ready', ['GET']);
  // One exposition: prom-client's registry, then OpenTelemetry's metrics (only while tracing is on) in the same text format.
  // One of several workers (WORKERS > 1) answers for all of them: prom-client's registries summed by the primary;
  // OpenTelemetry's own metrics are left out there, being per worker and not summable from their text.
  const exposition =
    shareWorkerMetrics(deps.registry) ??
    (() =>
      Promise.all([deps.registry.metrics(), telemetryMetricsText()]).then(([own, otel]) =>
        otel.length === 0 ? own : `${own.trimEnd()}\n${otel}`,
      ));
  app.get('/metrics', (_req, res, next) => {
    exposition().then((text) => {
      res.setHeader('content-type', deps.registry.contentType);
      res.end(text);
    }, next);
  });
  refuseOtherMethods(app, '/metrics', ['GET']);
  if (deps.openapi !== undefined) {
    const body = JSON.stringify(deps.openapi);
    app.get('/openapi.json', (_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(body);
    });
    refuseOtherMethods(app, '/openapi.json', ['GET']);
  }
}

/** The last handlers of every app: a 404 problem for unknown routes, and the one error-to-problem mapping. */
export function mountFallbacks(app: Express, logger: Logger): void {
  app.use((req, res) => {
    sendProblem(res, new ContractError('NOT_FOUND', `no route for ${req.method} ${req.path}`));
  });
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    // express's body parsers and routers raise errors with a status; anything else is ours.
    if (!(error instanceof ContractError)) logger.error('unhandled error', { error: errorMessage(error) });
    sendProblem(res, error);
  });
}
