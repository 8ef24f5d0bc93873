// A whole deployment in one small in-memory HTTP server, for testing the
// tester end to end: POST /user_tags stores at once, and the query endpoints
// answer from everything stored, computed the plainest way. `bug` makes it
// wrong in one known place, to see that the tester notices.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseAggregatesQuery, parseEventTime, parseProfileQuery, type UserTagInput } from '@usertags/contracts';

export interface FakeSystemOptions {
  /** Keep every tag, or only the newest 200 per cookie and action (both are allowed by the spec). */
  readonly keep: 'all' | 200;
  readonly bug?: 'none' | 'profile-range-end-included' | 'aggregates-count-plus-one';
  /** Delay of every POST /user_tags answer. */
  readonly tagDelayMs?: number;
}

export interface FakeSystem {
  readonly url: string;
  readonly stored: number;
  close(): Promise<void>;
}

interface Stored {
  readonly ms: number;
  readonly tag: UserTagInput;
}

export async function startFakeSystem(options: FakeSystemOptions): Promise<FakeSystem> {
  const all: Stored[] = [];
  const profiles = new Map<string, Stored[]>();
  const bug = options.bug ?? 'none';

  const storeTag = (tag: UserTagInput) => {
    const ms = parseEventTime(tag.time) as number;
    const stored = { ms, tag: { ...tag, time: new Date(ms).toISOString() } };
    all.push(stored);
    const key = `${tag.cookie}\u0000${tag.action}`;
    const list = profiles.get(key) ?? [];
    list.push(stored);
    list.sort((a, b) => b.ms - a.ms);
    if (options.keep === 200 && list.length > 200) list.length = 200;
    profiles.set(key, list);
  };

  const answer = (res: http.ServerResponse, status: number, body?: unknown): void => {
    res.statusCode = status;
    if (body === undefined) {
      res.end();
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = req.url ?? '/';
      const q = raw.indexOf('?');
      const path = q < 0 ? raw : raw.slice(0, q);
      const params = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
      if (req.method === 'POST' && path === '/user_tags') {
        storeTag(JSON.parse(Buffer.concat(chunks).toString('utf8')) as UserTagInput);
        setTimeout(() => answer(res, 204), options.tagDelayMs ?? 0);
        return;
      }
      if (path.startsWith('/user_profiles/')) {
        const parsed = parseProfileQuery(decodeURIComponent(path.slice('/user_profiles/'.length)), params);
        if (!parsed.ok) {
          answer(res, 400, { title: parsed.error.message });
          return;
        }
        const { cookie, range, limit } = parsed.value;
        const inRange = (s: Stored) =>
          s.ms >= range.fromMs && (bug === 'profile-range-end-included' ? s.ms <= range.toMs : s.ms < range.toMs);
        const list = (action: string) =>
          (profiles.get(`${cookie}\u0000${action}`) ?? [])
            .filter(inRange)
            .slice(0, limit)
            .map((s) => s.tag);
        answer(res, 200, { cookie, views: list('VIEW'), buys: list('BUY') });
        return;
      }
      if (path === '/aggregates') {
        const parsed = parseAggregatesQuery(params, 24 * 60);
        if (!parsed.ok) {
          answer(res, 400, { title: parsed.error.message });
          return;
        }
        const { range, action, aggregates, filters } = parsed.value;
        const present = (['origin', 'brand_id', 'category_id'] as const).filter((f) => filters[f] !== undefined);
        const rows: string[][] = [];
        for (let m = range.fromMs; m < range.toMs; m += 60_000) {
          let count = 0;
          let sum = 0n;
          for (const s of all) {
            const t = s.tag;
            if (s.ms < m || s.ms >= m + 60_000 || t.action !== action) continue;
            if (filters.origin !== undefined && t.origin !== filters.origin) continue;
            if (filters.brand_id !== undefined && t.product_info.brand_id !== filters.brand_id) continue;
            if (filters.category_id !== undefined && t.product_info.category_id !== filters.category_id) continue;
            count++;
            sum += BigInt(t.product_info.price);
          }
          if (bug === 'aggregates-count-plus-one') count++;
          const row = [new Date(m).toISOString().slice(0, 19), action, ...present.map((f) => filters[f] as string)];
          for (const a of aggregates) row.push(a === 'COUNT' ? String(count) : String(sum));
          rows.push(row);
        }
        answer(res, 200, { columns: ['1m_bucket', 'action', ...present, ...aggregates.map((a) => a.toLowerCase())], rows });
        return;
      }
      answer(res, 404, { title: 'not found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get stored() {
      return all.length;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The fake system in a child process; resolves once it listens. */
export async function spawnFakeSystem(options: FakeSystemOptions): Promise<{ url: string; stop(): Promise<void> }> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [new URL('./fake-system-main.ts', import.meta.url).pathname, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (c: string) => {
      out += c;
      if (out.includes('\n')) resolve(out.trim());
    });
    child.once('exit', (code) => reject(new Error(`the fake system exited with ${code}`)));
  });
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
