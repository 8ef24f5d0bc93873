import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EventSource } from '@usertags/contracts';
import { createLogger } from '@usertags/runtime';
import { waitFor } from '@usertags/testkit';
import { createEmbeddedEventSource } from '../src/embedded/embedded-event-source.ts';
import { openEmbeddedLog } from '../src/embedded/embedded-log.ts';
import { describeEventSourceContract } from './event-source.contract.ts';

const dir = mkdtempSync(join(tmpdir(), 'event-source-'));
const path = join(dir, 'events.sqlite');

let topics = 0;
describeEventSourceContract('embedded', {
  async createTopic(partitions) {
    const topic = `tags-${++topics}`;
    const log = openEmbeddedLog(path);
    log.ensureTopic(topic, partitions);
    log.close();
    return {
      topic,
      async write(keys) {
        const writer = openEmbeddedLog(path);
        writer.append(
          topic,
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

describe('embedded event source: gathering', () => {
  const gatherDir = mkdtempSync(join(tmpdir(), 'event-source-gather-'));
  const sources: EventSource[] = [];
  after(async () => {
    await Promise.all(sources.map((s) => s.stop()));
    rmSync(gatherDir, { recursive: true, force: true });
  });

  /**
   * A one-partition topic in its own file holding `initial` records, a writer of `n` records at a time, and what a
   * reader started on it delivers as batches.
   */
  async function setup(name: string, pollMs: number, minRecords: number, initial = 0) {
    const file = join(gatherDir, `${name}.sqlite`);
    const log = openEmbeddedLog(file);
    log.ensureTopic('tags', 1);
    let written = 0;
    const write = (n: number) => {
      log.append(
        'tags',
        Array.from({ length: n }, () => ({ key: 'cookie', value: Buffer.from(`v${written++}`), headers: {} })),
      );
    };
    if (initial > 0) write(initial);
    const batches: Array<{ size: number; at: number }> = [];
    const source = createEmbeddedEventSource(
      { path: file, groupId: 'g', topic: 'tags', pollMs, maxRecords: 1000, minRecords },
      createLogger('test', 'error'),
    );
    sources.push(source);
    await source.start(async (batch) => {
      batches.push({ size: batch.records.length, at: performance.now() });
    });
    return { write, batches, close: () => log.close() };
  }

  it('records that trickle in below minRecords wait up to pollMs and arrive as one batch', async () => {
    const { write, batches, close } = await setup('trickle', 1500, 100);
    const first = performance.now();
    for (let i = 0; i < 4; i++) {
      write(5);
      await sleep(50);
    }
    await waitFor(
      async () => batches.length > 0,
      10_000,
      () => 'the gathered batch',
    );
    await sleep(200);
    close();
    assert.deepEqual(
      batches.map((b) => b.size),
      [20],
    );
    const waited = (batches[0]?.at ?? 0) - first;
    assert.ok(waited >= 1000, `the batch came after ${waited.toFixed(0)} ms; it should gather for about pollMs (1500)`);
  });

  it('a partition that reaches minRecords while gathering is read at once, without waiting for pollMs', async () => {
    const { write, batches, close } = await setup('full', 30_000, 10, 4);
    await sleep(100);
    assert.equal(batches.length, 0, 'fewer than minRecords are not read before pollMs');
    write(6);
    await waitFor(
      async () => batches.length > 0,
      5000,
      () => 'a batch of minRecords',
    );
    close();
    assert.deepEqual(
      batches.map((b) => b.size),
      [10],
    );
  });
});
