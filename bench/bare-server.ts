// The ceiling for bench:ingest: a bare node:http server that reads the body
// and answers 204, with nothing else in the way.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 0);
const server = createServer((req, res) => {
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
