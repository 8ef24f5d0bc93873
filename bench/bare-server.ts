// The ceiling a benchmark quotes its program against: a bare node:http server with nothing else in the way.
//  - bench:ingest: reads the body and answers 204;
//  - bench:profiles and bench:profile-reads (BARE_ANSWERS=<file>, a JSON list of [path, body] pairs): answers a GET of each
//    path with 200 and exactly that body, as application/json — the bytes the query API sends for the same request.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 0);
const answersFile = process.env.BARE_ANSWERS;
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
