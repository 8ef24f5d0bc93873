import assert from 'node:assert/strict';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createTopic, deleteTopic, ProgramProcess, sampleTag, TEST_BROKERS, testPort, uniqueName, waitFor } from '@usertags/testkit';

/**
 * One request on a connection of its own, so the primary's round-robin hands
 * consecutive requests to different workers (fetch would keep one connection,
 * and so one worker, for all of them).
 */
function send(baseUrl: string, method: 'GET' | 'POST', path: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${baseUrl}${path}`, { method, agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The value of one series in an exposition, 0 when absent. */
function seriesValue(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

/** The PIDs of the workers the primary said it started, in order. */
function workerPids(api: ProgramProcess): number[] {
  return [...api.output.join('').matchAll(/"msg":"worker started","pid":(\d+)/g)].map((m) => Number(m[1]));
}

const listeningWorkers = (api: ProgramProcess) => api.output.join('').match(/"msg":"listening"/g)?.length ?? 0;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the command API as two workers on one port (WORKERS=2)', () => {
  const topic = uniqueName('workers');
  let api: ProgramProcess;
  let url: string;

  before(async () => {
    await createTopic(topic, 4);
    api = new ProgramProcess('command-api', { KAFKA_BROKERS: TEST_BROKERS.join(','), KAFKA_TOPIC: topic, PORT: '0', WORKERS: '2' });
    url = await api.ready();
    await waitFor(
      () => listeningWorkers(api) === 2,
      20_000,
      () => `both workers did not listen: ${api.output.join('')}`,
    );
  });

  after(async () => {
    await api.kill();
    for (const pid of workerPids(api)) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await deleteTopic(topic);
  });

  it('runs two worker processes under the one started', () => {
    const pids = workerPids(api);
    assert.equal(pids.length, 2);
    assert.ok(pids.every(alive));
    assert.ok(!pids.includes(api.child.pid as number));
  });

  it('counts the tags every worker stored in the /metrics of whichever worker answers', async () => {
    const tags = 20;
    for (let n = 0; n < tags; n++) assert.equal((await send(url, 'POST', '/user_tags', JSON.stringify(sampleTag(n)))).status, 204);
    // Four scrapes on new connections reach both workers; each answers for both.
    for (let scrape = 0; scrape < 4; scrape++) {
      const metrics = await send(url, 'GET', '/metrics');
      assert.equal(metrics.status, 200);
      assert.equal(seriesValue(metrics.text, 'user_tags_appended_total'), tags, `scrape ${scrape}`);
      assert.equal(
        seriesValue(metrics.text, 'http_request_duration_seconds_count{route="/user_tags",method="POST",status="204"}'),
        tags,
        `scrape ${scrape}`,
      );
    }
  });

  it('starts a replacement for a worker killed with SIGKILL, and goes on serving', async () => {
    const [victim] = workerPids(api) as [number];
    process.kill(victim, 'SIGKILL');
    await waitFor(
      () => workerPids(api).length === 3 && listeningWorkers(api) === 3,
      20_000,
      () => `no replacement listened: ${api.output.join('')}`,
    );
    assert.match(api.loggedAt('warn').join('\n'), new RegExp(`"pid":${victim},"reason":"killed by SIGKILL"`));
    assert.ok(!alive(victim));
    for (let n = 0; n < 4; n++) {
      assert.equal((await send(url, 'POST', '/user_tags', JSON.stringify(sampleTag(100 + n)))).status, 204);
      assert.equal((await send(url, 'GET', '/metrics')).status, 200);
    }
  });

  it('exits 0 on SIGTERM once every worker has drained, leaving no worker behind', async () => {
    const pids = workerPids(api);
    api.signal('SIGTERM');
    assert.equal(await api.waitForExit(), 0);
    await waitFor(
      () => !pids.some(alive),
      5000,
      () => `workers left running: ${pids.filter(alive).join(', ')}`,
    );
  });
});

describe('the command API refusing to start several workers', () => {
  it('exits 2 naming WORKERS when the event log is the embedded file', async () => {
    const api = new ProgramProcess('command-api', { EVENT_LOG: 'file:/nonexistent/events.sqlite', PORT: '0', WORKERS: '2' });
    assert.equal(await api.waitForExit(), 2);
    assert.match(api.output.join(''), /WORKERS: 2 workers, but the event log \(EVENT_LOG\) is embedded/);
  });

  it('exits non-zero when no worker can listen (the port is taken)', async () => {
    const taken = createServer();
    const port = testPort(61);
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
    try {
      const api = new ProgramProcess('command-api', {
        KAFKA_BROKERS: TEST_BROKERS.join(','),
        KAFKA_TOPIC: uniqueName('workers-taken'),
        KAFKA_CREATE_TOPIC: 'false',
        PORT: String(port),
        WORKERS: '2',
      });
      const code = await api.waitForExit();
      assert.ok(code !== null && code !== 0, `exit code ${code}`);
      assert.match(api.loggedAt('error').join('\n'), /workers cannot start/);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
