import assert from 'node:assert/strict';
import { ProblemBody } from '@usertags/contracts';
import { rawRequest } from './http.ts';

/** Paths where web frameworks, servers and runtimes commonly expose administration, debugging or secrets. */
export const ADMIN_PATHS = [
  '/admin',
  '/admin/',
  '/_admin',
  '/console',
  '/manage',
  '/management',
  '/actuator',
  '/actuator/env',
  '/actuator/heapdump',
  '/actuator/shutdown',
  '/debug',
  '/debug/pprof',
  '/debug/vars',
  '/_debug',
  '/inspect',
  '/json/list',
  '/json/version',
  '/heapdump',
  '/env',
  '/.env',
  '/config',
  '/configuration',
  '/settings',
  '/shutdown',
  '/restart',
  '/reload',
  '/flush',
  '/reset',
  '/replay',
  '/server-status',
  '/status/detail',
  '/graphql',
  '/api',
  '/swagger',
  '/swagger-ui.html',
  '/.git/config',
  '/package.json',
  '/node_modules/',
  '/user_tags/../admin',
  '/%2e%2e/%2e%2e/etc/passwd',
] as const;

/**
 * Asserts that a program's public port exposes nothing administrative: every
 * path of `ADMIN_PATHS`, by GET, POST and DELETE, gets a 404 problem.
 * Returns how many requests were tried.
 */
export async function assertNoAdminSurface(baseUrl: string): Promise<number> {
  let tried = 0;
  for (const path of ADMIN_PATHS) {
    for (const method of ['GET', 'POST', 'DELETE']) {
      const res = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: method === 'GET' ? null : '{}',
      });
      assert.equal(res.status, 404, `${method} ${path} answered ${res.status}`);
      assert.equal(ProblemBody.parse(await res.json()).code, 'NOT_FOUND');
      tried++;
    }
  }
  return tried;
}

/**
 * Asserts that a program answers each `[method, path, allow]` — a path it
 * serves, by a method it does not — with a 405 problem whose `Allow` header is
 * `allow`. Sent raw, since fetch refuses methods such as TRACE.
 */
export async function assertMethodsNotAllowed(baseUrl: string, cases: ReadonlyArray<readonly [string, string, string]>): Promise<void> {
  for (const [method, path, allow] of cases) {
    const what = `${method} ${path}`;
    const answer = await rawRequest(
      baseUrl,
      `${method} ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      10_000,
    );
    assert.equal(answer.status, 405, `${what} answered ${answer.status} ${answer.body.slice(0, 200)}`);
    assert.equal(answer.headers.allow, allow, what);
    assert.equal(answer.headers['content-type'], 'application/problem+json', what);
    if (method === 'HEAD') continue;
    const problem = ProblemBody.parse(JSON.parse(answer.body));
    assert.equal(problem.code, 'METHOD_NOT_ALLOWED', what);
    assert.equal(problem.status, 405, what);
  }
}
