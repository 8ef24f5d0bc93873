import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { createIngestClients } from '../src/http/ingest-clients.ts';

describe('the ingest clients count', () => {
  it('counts each open connection once, and forgets it when it closes', async () => {
    const clients = createIngestClients();
    const accepted: Socket[] = [];
    const server = createServer((socket) => accepted.push(socket));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const a = connect(port, '127.0.0.1');
    const b = connect(port, '127.0.0.1');
    while (accepted.length < 2) await new Promise((r) => setTimeout(r, 5));
    const [first, second] = accepted as [Socket, Socket];
    clients.seen(first);
    clients.seen(first);
    assert.equal(clients.count(), 1, 'a second request on the same connection is the same client');
    clients.seen(second);
    assert.equal(clients.count(), 2);
    a.destroy();
    await once(first, 'close');
    assert.equal(clients.count(), 1);
    second.destroy();
    await once(second, 'close');
    assert.equal(clients.count(), 0);
    clients.seen(second);
    assert.equal(clients.count(), 0, 'a connection already closed is not counted');
    b.destroy();
    server.close();
  });
});
