import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ProblemBody } from '@usertags/contracts';
import { rawRequest, SlowClient } from '@usertags/testkit';
import { createHttpServer, targetIs } from '../src/http-server.ts';

describe('the HTTP server every program runs', () => {
  // Answers 204 once it has read the whole body.
  const server = createHttpServer(
    (req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    },
    { headersTimeoutMs: 500, requestTimeoutMs: 1000 },
  );
  let base: string;

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const cases: Array<[string, string, number, string]> = [
    ['a 100 KB query string', `GET /?q=${'x'.repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431, 'HEADERS_TOO_LARGE'],
    ['a method HTTP does not have', 'BREW /user_tags HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'INVALID_REQUEST'],
    ['a space in a header name', 'GET / HTTP/1.1\r\nHo st: x\r\n\r\n', 400, 'INVALID_REQUEST'],
    ['a raw non-ASCII byte in the path', 'GET /\u00ff HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'INVALID_REQUEST'],
    [
      'both Content-Length and chunked',
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n',
      400,
      'INVALID_REQUEST',
    ],
    ['an HTTP/1.1 request without Host', 'GET / HTTP/1.1\r\n\r\n', 400, 'INVALID_REQUEST'],
    [
      'an Expect other than 100-continue',
      'POST / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 0\r\n\r\n',
      417,
      'EXPECTATION_FAILED',
    ],
    ['CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', 405, 'METHOD_NOT_ALLOWED'],
    ['not HTTP at all', '\u0016\u0003\u0001\u0000\u00a5\u0001\u0000\u0000\u00a1\u0003\u0003\r\n\r\n', 400, 'INVALID_REQUEST'],
  ];
  for (const [what, request, status, code] of cases) {
    it(`answers ${what} with a ${status} problem and closes the connection`, async () => {
      const answer = await rawRequest(base, request);
      assert.equal(answer.status, status);
      assert.equal(answer.headers['content-type'], 'application/problem+json');
      const problem = ProblemBody.parse(JSON.parse(answer.body));
      assert.equal(problem.status, status);
      assert.equal(problem.code, code);
      assert.notEqual(answer.closedAfterMs, undefined, 'the connection is closed');
    });
  }

  it('answers 408 and closes a client that sends its headers too slowly', async () => {
    const slow = new SlowClient(base, 'GET /health HTTP/1.1\r\nHost: x\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n', 50);
    const answer = await slow.answer;
    assert.equal(answer.status, 408);
    assert.equal(ProblemBody.parse(JSON.parse(answer.body)).code, 'REQUEST_TIMEOUT');
    assert.ok((answer.closedAfterMs ?? 0) < 2500, `closed after ${answer.closedAfterMs} ms`);
  });

  it('answers 408 and closes a client that sends its body too slowly', async () => {
    const body = 'x'.repeat(100);
    const slow = new SlowClient(base, `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`, 10);
    const answer = await slow.answer;
    assert.equal(answer.status, 408);
    assert.ok((answer.closedAfterMs ?? 0) >= 900 && (answer.closedAfterMs ?? 0) < 3000, `closed after ${answer.closedAfterMs} ms`);
  });

  it('still answers a well-formed request at once', async () => {
    const res = await fetch(`${base}/`, { method: 'POST', body: 'ok' });
    assert.equal(res.status, 204);
  });
});

describe('the targets a hot route takes', () => {
  it('is the path itself, with or without a query, and no other spelling', () => {
    for (const url of ['/user_tags', '/user_tags?', '/user_tags?from=x']) assert.equal(targetIs(url, '/user_tags'), true, url);
    for (const url of [undefined, '', '/user_tags/', '/user_tagsx', '/USER_TAGS', '/user_tags#x', 'http://h/user_tags', '//user_tags'])
      assert.equal(targetIs(url, '/user_tags'), false, String(url));
  });
});
