import type { Socket } from 'node:net';

/** The connections that have sent `POST /user_tags` and are still open. */
export interface IngestClients {
  /** Notes that a request to ingest came over this connection. */
  seen(socket: Socket): void;
  /** How many such connections are open: at most that many tags can wait for a batch at once. */
  count(): number;
}

/**
 * Counts the ingest connections, so that the batching appender knows when
 * every client that could add to a batch already has (a client sends its
 * next tag only once the last one is answered). Connections that only
 * scrape metrics or ask for health are not counted: they would never join.
 */
export function createIngestClients(): IngestClients {
  const open = new WeakSet<Socket>();
  let count = 0;
  return {
    seen(socket) {
      if (open.has(socket) || socket.destroyed) return;
      open.add(socket);
      count++;
      socket.once('close', () => {
        count--;
      });
    },
    count: () => count,
  };
}
