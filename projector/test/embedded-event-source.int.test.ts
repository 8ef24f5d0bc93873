import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, openEmbeddedLog } from '@usertags/runtime';
import { createEmbeddedEventSource } from '../src/adapters/embedded-event-source.ts';
import { describeEventSourceContract } from './event-source.contract.ts';

const dir = mkdtempSync(join(tmpdir(), 'event-source-'));
const path = join(dir, 'events.sqlite');

describeEventSourceContract('embedded', {
  async createTopic(partitions) {
    const log = openEmbeddedLog(path);
    log.ensureTopic('tags', partitions);
    log.close();
    return {
      topic: 'tags',
      async write(keys) {
        const writer = openEmbeddedLog(path);
        writer.append(
          'tags',
          keys.map((key, i) => ({ key, value: Buffer.from(`${key}#${i}`), headers: {} })),
        );
        writer.close();
      },
    };
  },
  source: (topic, group) =>
    createEmbeddedEventSource({ path, groupId: group, topic, pollMs: 20, maxRecords: 5 }, createLogger('test', 'error')),
  groupId: (group) => group,
  async cleanup() {
    rmSync(dir, { recursive: true, force: true });
  },
});
