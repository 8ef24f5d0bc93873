import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  ContractError,
  errorMessage,
  firstDifference,
  parseAggregatesQuery,
  parseProfileQuery,
  queryApiOpenApi,
} from '@usertags/contracts';
import {
  type Logger,
  mountFallbacks,
  mountOperational,
  nameServerRoute,
  type RequestHandler,
  readTextBody,
  refuseOtherMethods,
  sendProblem,
  splitTarget,
  withHotRoutes,
} from '@usertags/runtime';
import express from 'express';
import { type AggregateReader, answerAggregates } from '../core/aggregates.ts';
import { answerProfileJson, type ProfileReader } from '../core/profiles.ts';
import type { QueryApiMetrics } from '../metrics.ts';

export interface QueryAppDeps {
  readonly aggregates: AggregateReader;
  readonly profiles: ProfileReader;
  readonly checkReady: () => Promise<void>;
  readonly metrics: QueryApiMetrics;
  readonly logger: Logger;
  readonly maxMinutes: number;
  readonly debugBodyLimitBytes: number;
}

/**
 * Debug mode (spec §3.4): a non-empty body is the expected answer. It is
 * compared with ours, counted, and the first difference logged; the answer
 * sent is always ours. A body that is not JSON counts as a mismatch. `answer`
 * is our answer as a value, or as the JSON text (a Buffer) that is sent.
 */
async function checkExpected(req: IncomingMessage, endpoint: string, answer: unknown, deps: QueryAppDeps): Promise<void> {
  if (req.method !== 'POST') return;
  let text: string;
  try {
    text = await readTextBody(req, deps.debugBodyLimitBytes);
  } catch (error) {
    // Nobody is there to answer, or was answered 408 already: nothing was compared, and the request is counted as what it was.
    if (error instanceof ContractError && (error.code === 'CLIENT_CLOSED' || error.code === 'REQUEST_TIMEOUT')) throw error;
    deps.logger.warn('debug mode: expected answer not read', { endpoint, error: errorMessage(error) });
    deps.metrics.debugComparisons.inc({ endpoint, result: 'mismatch' });
    return;
  }
  if (text.trim().length === 0) return;
  // An answer sent as JSON text is compared as text first: the same text is the same value, and nothing is parsed.
  if (answer instanceof Buffer && answer.length === Buffer.byteLength(text) && answer.toString() === text) {
    deps.metrics.debugComparisons.inc({ endpoint, result: 'match' });
    return;
  }
  const actual = answer instanceof Buffer ? JSON.parse(answer.toString()) : answer;
  let expected: unknown;
  try {
    expected = JSON.parse(text);
  } catch {
    deps.metrics.debugComparisons.inc({ endpoint, result: 'mismatch' });
    deps.logger.warn('debug mode: expected answer is not JSON', { endpoint, url: req.url });
    return;
  }
  const difference = firstDifference(expected, actual);
  deps.metrics.debugComparisons.inc({ endpoint, result: difference === undefined ? 'match' : 'mismatch' });
  if (difference !== undefined)
    deps.logger.warn('debug mode: answer differs from the expected one', { endpoint, url: req.url, difference });
}

const PROFILES_PREFIX = '/user_profiles/';
/** The profile route as traces and messages name it. */
const PROFILE_ROUTE = '/user_profiles/{cookie}';

/**
 * The cookie of `/user_profiles/{cookie}`, percent-decoded from the raw path
 * (it may itself contain `/`, `?`, `%`); `path` is the routed path of the
 * target in whatever form it came (`splitTarget`).
 */
function cookieOf(path: string): string {
  if (!path.startsWith(PROFILES_PREFIX)) throw new ContractError('NOT_FOUND', 'no profile path');
  try {
    // Strict: bytes that are not UTF-8 (%FF, %ED%A0%80 for a lone surrogate) throw instead of becoming U+FFFD.
    return decodeURIComponent(path.slice(PROFILES_PREFIX.length));
  } catch {
    throw new ContractError('INVALID_REQUEST', 'the cookie in the path is not valid percent-encoded UTF-8', {
      issues: [{ field: 'cookie', message: 'is not valid percent-encoded UTF-8' }],
    });
  }
}

/**
 * Whether a target is the plain origin-form of a profile path with a cookie
 * (`/user_profiles/x`, `/user_profiles/x?…`): those go straight to the profile
 * route; every other form the router matches still reaches it through express.
 */
function isProfileTarget(url: string | undefined): boolean {
  if (url === undefined || !url.startsWith(PROFILES_PREFIX) || url.length === PROFILES_PREFIX.length) return false;
  const next = url.charCodeAt(PROFILES_PREFIX.length);
  return next !== 63 && next !== 35; // '?', '#': no cookie, which the router answers 404
}

/**
 * The query API's request handler: `/user_profiles/{cookie}` and `/aggregates`
 * (GET and POST), operational endpoints, problems for everything else. The
 * profile reads, most of the load, skip express (`withHotRoutes`).
 */
export function createQueryApp(deps: QueryAppDeps): RequestHandler {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');

  const timed =
    <Req extends IncomingMessage, Res extends ServerResponse>(route: string, handler: (req: Req, res: Res) => Promise<void>) =>
    (req: Req, res: Res) => {
      const started = performance.now();
      handler(req, res)
        .then(
          () => res.statusCode,
          (error: unknown) => {
            // A client gone (499) or too slow (408) is sent nothing more; the status is what it is counted as.
            const status = sendProblem(res, error);
            if (error instanceof ContractError) deps.logger.debug('query rejected', { route, code: error.code, status });
            else deps.logger.error('query failed', { route, error: errorMessage(error) });
            return status;
          },
        )
        .then((status) => {
          deps.metrics.requestDuration.observe({ route, method: req.method ?? '', status }, (performance.now() - started) / 1000);
        });
    };

  const aggregates = timed('/aggregates', async (req: express.Request, res: express.Response) => {
    const parsed = parseAggregatesQuery(splitTarget(req.originalUrl).query, deps.maxMinutes);
    if (!parsed.ok) throw parsed.error;
    const answer = await answerAggregates(parsed.value, deps.aggregates);
    await checkExpected(req, 'aggregates', answer, deps);
    res.json(answer);
  });
  app.get('/aggregates', aggregates);
  app.post('/aggregates', aggregates);
  refuseOtherMethods(app, '/aggregates', ['GET', 'POST']);

  const profile = timed('/user_profiles', async (req: IncomingMessage, res: ServerResponse) => {
    nameServerRoute(req.method ?? 'GET', PROFILE_ROUTE);
    const { path, query } = splitTarget(req.url ?? '/');
    const parsed = parseProfileQuery(cookieOf(path), query);
    if (!parsed.ok) throw parsed.error;
    // Up to 400 tags: their stored JSON texts joined, and sent as they are (what res.json would send, without its work).
    const body = await answerProfileJson(parsed.value, deps.profiles);
    await checkExpected(req, 'user_profiles', body, deps);
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
    res.end(body);
  });
  // A pattern without parameters: express would percent-decode a parameter itself and fail with a 500 on bad encoding.
  const profilePath = /^\/user_profiles\/.+/;
  app.get(profilePath, profile);
  app.post(profilePath, profile);
  refuseOtherMethods(app, profilePath, ['GET', 'POST'], PROFILE_ROUTE);

  mountOperational(app, { checkReady: deps.checkReady, registry: deps.metrics.registry, openapi: queryApiOpenApi() });
  mountFallbacks(app, deps.logger);
  return withHotRoutes(app, (req) => ((req.method === 'GET' || req.method === 'POST') && isProfileTarget(req.url) ? profile : undefined));
}
