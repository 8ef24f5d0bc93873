import type { IncomingMessage, ServerResponse } from 'node:http';
import { ContractError, errorMessage } from '@usertags/contracts';
import type { Logger } from '@usertags/runtime';
import { limitRepeats, readJsonBody, sendProblem } from '@usertags/runtime';
import type { Ingest } from '../core/ingest.ts';
import type { CommandApiMetrics } from '../metrics.ts';
import type { IngestClients } from './ingest-clients.ts';

/** Runs one request's handling inside its trace (a server span), when tracing is on. */
export type RequestTracer = (req: IncomingMessage, res: ServerResponse, handle: () => Promise<void>) => Promise<void>;

export interface IngestRouteDeps {
  readonly ingest: Ingest;
  readonly metrics: CommandApiMetrics;
  readonly logger: Logger;
  readonly bodyLimitBytes: number;
  readonly isShuttingDown: () => boolean;
  /** Where the connections that send tags are counted (for the batching appender). */
  readonly clients?: IngestClients | undefined;
  /** Absent when tracing is off. */
  readonly traceRequest?: RequestTracer | undefined;
}

export const INGEST_PATH = '/user_tags';

/** `POST /user_tags`: read the JSON body, ingest it, answer 204 or a problem. */
export function createIngestRoute(deps: IngestRouteDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { ingest, metrics, logger } = deps;
  // During an outage every request fails alike: one line a second per reason, with the count left out.
  const notStored = limitRepeats(logger);
  const observe = (status: number, started: number) =>
    metrics.requestDuration.observe({ route: INGEST_PATH, method: 'POST', status }, (performance.now() - started) / 1000);
  // The 204 series is resolved once: hashing its labels on every request showed up in profiles.
  const accepted = metrics.requestDuration.labels({ route: INGEST_PATH, method: 'POST', status: 204 });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = performance.now();
    deps.clients?.seen(req.socket);
    let status: number;
    try {
      if (deps.isShuttingDown()) {
        res.setHeader('connection', 'close');
        throw new ContractError('SHUTTING_DOWN', 'the server is shutting down; retry on another instance');
      }
      const body = await readJsonBody(req, deps.bodyLimitBytes);
      const result = await ingest({
        body,
        traceparent: header(req, 'traceparent'),
        tracestate: header(req, 'tracestate'),
      });
      if (result.ok) {
        res.writeHead(204);
        res.end();
        metrics.tagsAppended.inc();
        accepted.observe((performance.now() - started) / 1000);
        return;
      }
      throw result.error;
    } catch (error) {
      const code = error instanceof ContractError ? error.code : 'INTERNAL';
      // Whatever is left of an oversized or unread body is not worth reading: close the connection.
      if (code === 'PAYLOAD_TOO_LARGE' || code === 'UNSUPPORTED_MEDIA_TYPE') res.setHeader('connection', 'close');
      status = sendProblem(res, error);
      metrics.tagsRejected.inc({ reason: code });
      if (status >= 500) notStored(code, 'tag not stored', { code, status, detail: errorMessage(error) });
      else logger.debug('tag rejected', { code, status });
    }
    observe(status, started);
  };
  const { traceRequest } = deps;
  return traceRequest === undefined ? handle : (req, res) => traceRequest(req, res, () => handle(req, res));
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
