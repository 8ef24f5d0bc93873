import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createHttpTarget } from '../src/http/client.ts';

/** A node:http server with a few routes that answer in the ways a deployment may; counts connections. */
async function httpServer(keepAliveTimeoutMs = 150): Promise<{ url: string; connections: () => number; close(): Promise<void> }> {
  let connections = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => {
      switch (req.url) {
        case '/echo':
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ method: req.method, body, type: req.headers['content-type'] ?? null }));
          return;
        case '/empty':
          res.writeHead(204).end();
          return;
        case '/chunked':
          // No length: node:http sends chunked transfer coding; the pieces leave as separate writes.
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{"parts":[');
          setTimeout(() => {
            res.write('"a","é"');
            setTimeout(() => res.end(']}'), 20);
          }, 20);
          return;
        case '/close':
          res.writeHead(200, { connection: 'close', 'content-length': 2 }).end('ok');
          return;
        case '/interim':
          res.writeProcessing();
          setTimeout(() => res.writeHead(201, { 'content-length': 4 }).end('done'), 10);
          return;
        case '/silent':
          return; // never answers
        default:
          res.writeHead(404, { 'content-length': 0 }).end();
      }
    });
  });
  server.on('connection', () => connections++);
  server.keepAliveTimeout = keepAliveTimeoutMs;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A raw TCP server that answers every connection with `answer`, written `pieceBytes` at a time with a pause between, then maybe closes. */
async function rawServer(answer: string, pieceBytes: number, closeAfter: boolean): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('data', async () => {
      const bytes = Buffer.from(answer);
      for (let i = 0; i < bytes.length; i += pieceBytes) {
        socket.write(bytes.subarray(i, i + pieceBytes));
        await new Promise((r) => setTimeout(r, 2));
      }
      if (closeAfter) socket.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('the tester HTTP client', () => {
  let server: Awaited<ReturnType<typeof httpServer>>;
  before(async () => {
    server = await httpServer();
  });
  after(() => server.close());

  it('sends the body as JSON and reads an answer with a Content-Length, reusing one connection', async () => {
    const target = createHttpTarget(server.url);
    const before = server.connections();
    try {
      for (let i = 0; i < 5; i++) {
        const o = await target.request('POST', '/echo', `{"i":${i}}`, 2000, true);
        assert.equal(o.kind, 'answered');
        assert.equal(o.status, 200);
        assert.deepEqual(JSON.parse(o.body), { method: 'POST', body: `{"i":${i}}`, type: 'application/json' });
        assert.ok(o.latencyMs > 0);
      }
      assert.equal(server.connections() - before, 1, 'five requests one after another share one connection');
    } finally {
      target.close();
    }
  });

  it('sends no content type with an empty body, and reads nothing of a 204', async () => {
    const target = createHttpTarget(server.url);
    try {
      const echo = await target.request('GET', '/echo', '', 2000, true);
      assert.deepEqual(JSON.parse(echo.body), { method: 'GET', body: '', type: null });
      const empty = await target.request('POST', '/empty', '{}', 2000, true);
      assert.deepEqual([empty.kind, empty.status, empty.body], ['answered', 204, '']);
      const missing = await target.request('GET', '/nowhere', '', 2000, true);
      assert.deepEqual([missing.kind, missing.status], ['answered', 404]);
    } finally {
      target.close();
    }
  });

  it('joins a chunked answer that arrives in pieces, multi-byte characters included', async () => {
    const target = createHttpTarget(server.url);
    try {
      const o = await target.request('GET', '/chunked', '', 2000, true);
      assert.deepEqual(JSON.parse(o.body), { parts: ['a', 'é'] });
      const again = await target.request('GET', '/echo', '', 2000, true);
      assert.equal(again.status, 200, 'the connection is usable after a chunked answer');
    } finally {
      target.close();
    }
  });

  it('opens a new connection after an answer that closes its own', async () => {
    const target = createHttpTarget(server.url);
    const before = server.connections();
    try {
      for (let i = 0; i < 3; i++) {
        const o = await target.request('GET', '/close', '', 2000, true);
        assert.deepEqual([o.kind, o.status, o.body], ['answered', 200, 'ok']);
      }
      assert.equal(server.connections() - before, 3);
    } finally {
      target.close();
    }
  });

  it('skips an interim 1xx answer and returns the final one', async () => {
    const target = createHttpTarget(server.url);
    try {
      const o = await target.request('POST', '/interim', '{}', 2000, true);
      assert.deepEqual([o.kind, o.status, o.body], ['answered', 201, 'done']);
    } finally {
      target.close();
    }
  });

  it('keeps working when the server has closed the idle connection', async () => {
    const target = createHttpTarget(server.url);
    try {
      assert.equal((await target.request('GET', '/echo', '', 2000, true)).status, 200);
      await new Promise((r) => setTimeout(r, 400)); // past the server's 150 ms keep-alive timeout
      const o = await target.request('GET', '/echo', '', 2000, true);
      assert.deepEqual([o.kind, o.status], ['answered', 200]);
    } finally {
      target.close();
    }
  });

  it('reports a timeout when no answer comes within the budget, and carries on', async () => {
    const target = createHttpTarget(server.url);
    try {
      const o = await target.request('GET', '/silent', '', 100, true);
      assert.equal(o.kind, 'timeout');
      assert.ok(o.latencyMs >= 95 && o.latencyMs < 1000, `gave up after ${o.latencyMs} ms`);
      assert.equal((await target.request('GET', '/echo', '', 2000, true)).status, 200);
    } finally {
      target.close();
    }
  });

  it('sends requests in flight at once on connections of their own', async () => {
    const target = createHttpTarget(server.url);
    const before = server.connections();
    try {
      const outcomes = await Promise.all(Array.from({ length: 20 }, () => target.request('GET', '/chunked', '', 2000, true)));
      assert.ok(outcomes.every((o) => o.status === 200 && JSON.parse(o.body).parts.length === 2));
      assert.equal(server.connections() - before, 20);
    } finally {
      target.close();
    }
  });

  it('keeps the connections a burst opened in use under steadier load, instead of closing and reopening them', async () => {
    // A server that keeps idle connections for 30 s, as the platform's APIs do.
    const patient = await httpServer(30_000);
    const target = createHttpTarget(patient.url);
    try {
      const burst = () => Promise.all(Array.from({ length: 8 }, () => target.request('GET', '/echo', '', 2000, true)));
      await burst();
      assert.equal(patient.connections(), 8);
      // Longer than the 2 s after which an idle connection is not reused, one request at a time.
      for (let i = 0; i < 40; i++) {
        assert.equal((await target.request('GET', '/echo', '', 2000, true)).status, 200);
        await new Promise((r) => setTimeout(r, 60));
      }
      await burst();
      assert.equal(patient.connections(), 8, 'the second burst found all eight connections recently used');
    } finally {
      target.close();
      await patient.close();
    }
  });

  it('reports an error when nothing listens', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const target = createHttpTarget(`http://127.0.0.1:${port}`);
    try {
      const o = await target.request('GET', '/', '', 2000, false);
      assert.deepEqual([o.kind, o.status, o.error], ['error', 0, 'ECONNREFUSED']);
    } finally {
      target.close();
    }
  });

  it('parses an answer delivered a few bytes at a time: head, chunk sizes, trailers', async () => {
    const answer =
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Other: 1\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n';
    const raw = await rawServer(answer, 3, false);
    const target = createHttpTarget(raw.url);
    try {
      const o = await target.request('GET', '/', '', 2000, true);
      assert.deepEqual([o.kind, o.status, o.body], ['answered', 200, 'hello, world']);
    } finally {
      target.close();
      await raw.close();
    }
  });

  it('reads an HTTP/1.0 answer without a length up to the close of the connection', async () => {
    const raw = await rawServer('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it', 4, true);
    const target = createHttpTarget(raw.url);
    try {
      const o = await target.request('GET', '/', '', 2000, true);
      assert.deepEqual([o.kind, o.status, o.body], ['answered', 200, 'all of it']);
    } finally {
      target.close();
      await raw.close();
    }
  });

  it('reports an error, not an answer, for something that is not HTTP or is cut short', async () => {
    for (const [answer, close] of [
      ['SSH-2.0-OpenSSH_9.2\r\n\r\n', false],
      ['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort', true],
      ['HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n', false],
    ] as const) {
      const raw = await rawServer(answer, 64, close);
      const target = createHttpTarget(raw.url);
      try {
        const o = await target.request('GET', '/', '', 2000, true);
        assert.equal(o.kind, 'error', `for ${JSON.stringify(answer)}: ${JSON.stringify(o)}`);
        assert.equal(o.status, 0);
      } finally {
        target.close();
        await raw.close();
      }
    }
  });
});
