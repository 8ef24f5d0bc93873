import type { ServerResponse } from 'node:http';
import { ContractError, toProblem } from '@usertags/contracts';

/** Seconds a client should wait before retrying a retryable 503. */
const RETRY_AFTER_SECONDS = '1';

/**
 * The one place where errors become HTTP answers: an RFC 9457 problem body
 * with the code's status, and Retry-After on retryable ones.
 */
export function sendProblem(res: ServerResponse, error: unknown): number {
  const problem = toProblem(error);
  const body = JSON.stringify(problem);
  const headers: Record<string, string | number> = {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(body),
  };
  if (error instanceof ContractError && error.retryable) headers['retry-after'] = RETRY_AFTER_SECONDS;
  if (!res.headersSent) res.writeHead(problem.status, headers);
  res.end(body);
  return problem.status;
}
