// The ceiling a benchmark quotes its program against: a bare node:http server with nothing else in the way.
//  - bench:ingest: reads the body and answers 204;
//  - bench:profiles and bench:profile-reads (BARE_ANSWERS=<file>, a JSON list of [path, body] pairs): answers a GET of each
//    path with 200 and exactly that body, as application/json — the bytes the query API sends for the same request;
//  - bench:e2e's `bare` mode (BARE_ECHO=1, in the query API's place): answers every request with 200 and its own body as
//    application/json, `{}` when it has none — the tester's debug queries carry their expected answer, so it gets back
//    exactly the bytes a correct query API sends.
// An argument naming a program (`command-api`, `query-api`) counts the server's CPU as that program's in bench:e2e.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 0);
const answersFile = process.env.BARE_ANSWERS;
const echo = process.env.BARE_ECHO === '1';
const EMPTY = Buffer.from('{}');
const answers = new Map<string, Buffer>(
  answersFile === undefined
    ? []
    : (JSON.parse(readFileSync(answersFile, 'utf8')) as Array<[string, string]>).map(([path, body]) => [path, Buffer.from(body)]),
);
const server = createServer((req, res) => {
  if (answersFile !== undefined) {
    req.resume();
    const body = answers.get(req.url ?? '');
    if (body === undefined) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
    res.end(body);
    return;
  }
  if (echo) {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = chunks.length === 0 ? EMPTY : Buffer.concat(chunks);
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
      res.end(body);
    });
    return;
  }
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(204);
    res.end();
  });
});
server.keepAliveTimeout = 30_000;
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(
    `${JSON.stringify({ msg: 'listening', url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}` })}\n`,
  );
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
