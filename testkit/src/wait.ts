import assert from 'node:assert/strict';

/** Polls `done` every 200 ms until it holds; fails the test with `message` after `timeoutMs`. */
export async function waitFor(done: () => Promise<boolean> | boolean, timeoutMs: number, message: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    assert.ok(Date.now() < deadline, message());
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The value of one Prometheus series (name with labels, as exported) on a program's /metrics, 0 when absent. */
export async function metricValue(baseUrl: string, series: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}
