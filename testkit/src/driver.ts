import type { UserTagInput } from '@usertags/contracts';
import { random, STREAM_BRANDS, STREAM_CATEGORIES, STREAM_ORIGINS } from './stream.ts';

/** One request the driver sent: which tag, what came back, and when. */
export interface SentTag {
  readonly n: number;
  /** The HTTP status, or 0 when no answer came (connection refused or reset, timeout). */
  readonly status: number;
  readonly startedAt: number;
  readonly endedAt: number;
  /** The problem's `code` of an error answer. */
  readonly code?: string;
  readonly retryAfter?: string;
}

export interface DriverOptions {
  /** Concurrent senders; each sends its next tag once the previous one is answered. */
  readonly senders: number;
  /** Pause of each sender between two requests. */
  readonly pauseMs?: number;
  /** Give up on one request after this long (it counts as status 0). */
  readonly timeoutMs?: number;
  /** The tag numbered `n`; tags must be distinguishable by their time (see `faultTag`). */
  readonly tag?: (n: number) => UserTagInput;
}

/**
 * The n-th tag of a fault test's stream: event times 10 ms apart from
 * `startMs`, so every tag has its own millisecond (a tag in the log or in a
 * profile is identified by its time, and profiles have no ties to order), 40
 * cookies, and the few filter values of `aggregateStream`, so every query
 * shape has data.
 */
export function faultTag(n: number, startMs = Date.UTC(2022, 2, 22, 12, 0)): UserTagInput {
  const rnd = random(n + 1);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  return {
    time: new Date(startMs + n * 10).toISOString(),
    cookie: `cookie-${n % 40}`,
    country: pick(['PL', 'DE', 'US']),
    device: pick(['PC', 'MOBILE', 'TV'] as const),
    action: rnd() < 0.5 ? 'VIEW' : 'BUY',
    origin: pick(STREAM_ORIGINS),
    product_info: {
      product_id: n % 2 === 0 ? String(n) : n,
      brand_id: pick(STREAM_BRANDS),
      category_id: pick(STREAM_CATEGORIES),
      price: Math.floor(rnd() * 2000) - 500,
    },
  };
}

/**
 * A steady stream of tags for fault tests: `senders` loops each POST one tag
 * at a time to the command API and record what came back, whatever happens to
 * the API meanwhile (killed, restarted, its log gone).
 */
export class TagDriver {
  readonly sent: SentTag[] = [];
  private readonly url: string;
  private readonly options: DriverOptions;
  private readonly tagOf: (n: number) => UserTagInput;
  private next = 0;
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(baseUrl: string, options: DriverOptions) {
    this.url = `${baseUrl}/user_tags`;
    this.options = options;
    this.tagOf = options.tag ?? ((n) => faultTag(n));
  }

  start(): void {
    this.running = true;
    this.loops = Array.from({ length: this.options.senders }, () => this.loop());
  }

  /** Stops sending and waits for the requests in flight. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  tag(n: number): UserTagInput {
    return this.tagOf(n);
  }

  /** The tags answered 204, in the order their answers came. */
  acknowledged(): UserTagInput[] {
    return this.sent.filter((s) => s.status === 204).map((s) => this.tagOf(s.n));
  }

  /** How many requests got each status (0: no answer). */
  counts(): Record<number, number> {
    const counts: Record<number, number> = {};
    for (const s of this.sent) counts[s.status] = (counts[s.status] ?? 0) + 1;
    return counts;
  }

  /** Requests sent entirely within [fromMs, toMs]: started at or after `fromMs`, answered by `toMs`. */
  within(fromMs: number, toMs: number): SentTag[] {
    return this.sent.filter((s) => s.startedAt >= fromMs && s.endedAt <= toMs);
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const n = this.next++;
      const sent = await this.send(n);
      this.sent.push(sent);
      // No answer: the API is down; knocking again at once would only burn the CPU the others need.
      const pause = sent.status === 0 ? 50 : this.options.pauseMs;
      if (pause !== undefined) await new Promise((r) => setTimeout(r, pause));
    }
  }

  private async send(n: number): Promise<SentTag> {
    const startedAt = Date.now();
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(this.tagOf(n)),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
      const text = await res.text();
      const endedAt = Date.now();
      if (res.status < 400) return { n, status: res.status, startedAt, endedAt };
      let code: string | undefined;
      try {
        code = (JSON.parse(text) as { code?: string }).code;
      } catch {}
      const retryAfter = res.headers.get('retry-after');
      return {
        n,
        status: res.status,
        startedAt,
        endedAt,
        ...(code === undefined ? {} : { code }),
        ...(retryAfter === null ? {} : { retryAfter }),
      };
    } catch {
      return { n, status: 0, startedAt, endedAt: Date.now() };
    }
  }
}
