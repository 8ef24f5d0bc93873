// The embedded log's writer thread: SQLite calls are synchronous, and an append waits for the
// disk (fsync), so it runs here instead of on the command API's event loop. It also takes the
// log's checkpoints, after it has answered the append that made one due.
import { parentPort, workerData } from 'node:worker_threads';
import type { LogRecord } from '@usertags/contracts';
import { errorMessage } from '@usertags/contracts';
import { type EmbeddedLog, openEmbeddedLog } from './embedded-log.ts';

export type WorkerCall = { kind: 'append'; records: LogRecord[] } | { kind: 'ready' };
export type WorkerRequest = WorkerCall & { id: number };
export type WorkerReply = { id: number; ok: true } | { id: number; ok: false; error: string };

const { path, topic, partitions } = workerData as { path: string; topic: string; partitions: number };
let log: EmbeddedLog | undefined;

function open(): EmbeddedLog {
  if (log === undefined) {
    const opened = openEmbeddedLog(path, { deferCheckpoints: true });
    try {
      opened.ensureTopic(topic, partitions);
    } catch (error) {
      opened.close();
      throw error;
    }
    log = opened;
  }
  return log;
}

parentPort?.on('message', (request: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    const l = open();
    if (request.kind === 'append') {
      // Structured cloning turned the Buffers into Uint8Arrays; SQLite binds either.
      l.append(topic, request.records);
    }
    reply = { id: request.id, ok: true };
  } catch (error) {
    log?.close();
    log = undefined;
    reply = { id: request.id, ok: false, error: errorMessage(error) };
  }
  parentPort?.postMessage(reply);
  log?.checkpointIfDue();
});
