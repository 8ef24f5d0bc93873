/** A small structured logger: one JSON object per line on stdout. */
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof LEVELS;

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(name: string, level: LogLevel, write: (line: string) => void = (l) => process.stdout.write(l)): Logger {
  const min = LEVELS[level];
  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS[lvl] < min) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level: lvl, name, msg, ...fields })}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

/** The parts of an error worth logging, without request data. */
export function errorFields(error: unknown): Record<string, unknown> {
  if (error instanceof Error) return { error: error.message, errorName: error.name };
  return { error: String(error) };
}

/**
 * A warning that can come once per request during an outage (a tag not stored
 * while the log is down: a thousand lines a second), written at most once per
 * `intervalMs` for each key: the first at once, the next ones inside the
 * interval only counted, and their number given as `repeated` on the next line
 * written for that key. The metrics count every one; the log says that and why.
 */
export function limitRepeats(
  logger: Logger,
  intervalMs = 1000,
  now: () => number = () => performance.now(),
): (key: string, msg: string, fields?: Record<string, unknown>) => void {
  const last = new Map<string, { at: number; repeated: number }>();
  return (key, msg, fields) => {
    const t = now();
    const entry = last.get(key);
    if (entry !== undefined && t - entry.at < intervalMs) {
      entry.repeated++;
      return;
    }
    logger.warn(msg, entry !== undefined && entry.repeated > 0 ? { ...fields, repeated: entry.repeated } : fields);
    last.set(key, { at: t, repeated: 0 });
  };
}
