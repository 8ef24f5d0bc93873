import type { QueryScore } from '../core/scoring.ts';
import type { EndpointStats } from '../core/stats.ts';
import type { EndpointName } from './model.ts';

/** What the progress line reads. */
export interface ProgressSource {
  readonly elapsedS: number;
  readonly stats: Readonly<Record<EndpointName, EndpointStats>>;
  readonly inFlight: Readonly<Record<EndpointName, number>>;
  readonly scores: { readonly profiles: QueryScore; readonly aggregates: QueryScore };
}

const pct = (part: number, whole: number) => (whole === 0 ? '  -  ' : `${((part / whole) * 100).toFixed(1)}%`);

/** One line: per endpoint the last second's rate and p99, totals of failures, and the correctness so far. */
export function progressLine(s: ProgressSource): string {
  const last = (e: EndpointName) => s.stats[e].series.at(-1);
  const ep = (e: EndpointName, label: string) => {
    const st = s.stats[e];
    const l = last(e);
    const p99 = l?.p99 === null || l?.p99 === undefined ? '-' : `${l.p99.toFixed(1)}ms`;
    return `${label} ${l?.sent ?? 0}/s ok ${pct(st.ok, st.sent)} p99 ${p99} drop ${st.dropped} t/o ${st.timeouts} err ${st.non2xx + st.errors}`;
  };
  const score = (name: 'profiles' | 'aggregates') => {
    const sc = s.scores[name];
    return `${name} ✓ ${sc.correct}/${sc.checked} (${pct(sc.correct, sc.checked)}) unchecked ${sc.unchecked}`;
  };
  const inFlight = `in flight ${s.inFlight.tags}/${s.inFlight.profiles}/${s.inFlight.aggregates}`;
  return `[${s.elapsedS.toFixed(0).padStart(4)}s] ${ep('tags', 'tags')} | ${ep('profiles', 'prof')} | ${ep('aggregates', 'agg')} | ${score('profiles')} | ${score('aggregates')} | ${inFlight}`;
}

/**
 * Writes the progress line: rewritten in place every second on a terminal,
 * a new line every 10 s otherwise (logs, CI).
 */
export function createProgressPrinter(stream: NodeJS.WritableStream & { isTTY?: boolean }): {
  tick(line: string, second: number): void;
  end(): void;
} {
  const tty = stream.isTTY === true;
  let shown = false;
  return {
    tick(line, second) {
      if (tty) {
        stream.write(`\r\x1b[2K${line}`);
        shown = true;
      } else if (second % 10 === 0) stream.write(`${line}\n`);
    },
    end() {
      if (tty && shown) stream.write('\n');
    },
  };
}
