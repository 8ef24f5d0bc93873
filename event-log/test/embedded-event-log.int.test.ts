import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventAppender } from '@usertags/contracts';
import { createEmbeddedEventLog } from '../src/embedded/embedded-event-log.ts';
import { openEmbeddedLog } from '../src/embedded/embedded-log.ts';
import { describeEventLogContract } from './event-log.contract.ts';

const dir = mkdtempSync(join(tmpdir(), 'event-log-'));
const logs: EventAppender[] = [];

describeEventLogContract('embedded', {
  async open() {
    const path = join(dir, 'events.sqlite');
    const log = createEmbeddedEventLog({ path, topic: 'user-tags', partitions: 4 });
    logs.push(log);
    return {
      log,
      partitions: 4,
      // Read back through a second handle, as another process would.
      async readAll() {
        const reader = openEmbeddedLog(path);
        try {
          const ends = reader.ends('user-tags');
          return [...ends].flatMap(([partition, end]) =>
            reader.read('user-tags', partition, 0n, Number(end)).map((r) => ({
              partition,
              key: r.key ?? '',
              value: r.value ?? Buffer.alloc(0),
              headers: r.headers,
            })),
          );
        } finally {
          reader.close();
        }
      },
    };
  },
  async openUnreachable() {
    // The log's folder would have to be inside a regular file.
    const file = join(dir, 'not-a-folder');
    writeFileSync(file, '');
    const log = createEmbeddedEventLog({ path: join(file, 'events.sqlite'), topic: 'user-tags', partitions: 4 });
    logs.push(log);
    return log;
  },
  async cleanup() {
    await Promise.all(logs.map((l) => l.close()));
    rmSync(dir, { recursive: true, force: true });
  },
});
