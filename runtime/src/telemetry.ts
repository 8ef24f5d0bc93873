// Tracing's life cycle in a program. `startTelemetry` runs in the program's
// register module (`node --import <pkg>/src/register.ts <pkg>/src/main.ts`),
// before any of the program's own modules load, so the instrumentations' hooks
// see express, pg and node:http as they are imported. With tracing off
// (OTEL_TRACES_EXPORTER=none, the default) nothing is loaded or patched: the
// OpenTelemetry API stays a no-op.
import { z } from 'zod';
import { env, loadConfigOrExit, loadEnvConfig } from './config.ts';
import type { Logger } from './logger.ts';

/** What a started SDK offers the rest of the program. */
export interface RunningTelemetry {
  /** OpenTelemetry's own metrics in the Prometheus text format, for the program's one /metrics. */
  metricsText(): Promise<string>;
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

let running: RunningTelemetry | undefined;
let startedFor: string | undefined;

/**
 * Starts tracing as the environment says (`OTEL_*`, see `env.telemetry()`).
 * `instrument` names the libraries to instrument automatically; a program
 * makes its other spans by hand. A bad value stops the process with a message
 * naming the variable, as a program's own config does.
 */
export async function startTelemetry(
  program: string,
  instrument: ReadonlyArray<'http' | 'express' | 'pg'>,
  environment: Readonly<Record<string, string | undefined>> = process.env,
): Promise<void> {
  startedFor = program;
  const config = loadConfigOrExit(program, () => loadEnvConfig(z.object(env.telemetry()), environment));
  if (config.OTEL_TRACES_EXPORTER === 'none') return;
  // Loaded only when used: the SDK, its exporters and the instrumentations cost start-up time and memory.
  const { startSdk } = await import('./telemetry-sdk.ts');
  running = startSdk({
    service: config.OTEL_SERVICE_NAME ?? program,
    instrument,
    tracesUrl: `${config.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`,
    samplingRatio: config.OTEL_TRACES_SAMPLER_ARG,
    exportDelayMs: config.OTEL_BSP_SCHEDULE_DELAY,
  });
}

/** True when spans are recorded and exported: the program's register module started the SDK. */
export function tracingActive(): boolean {
  return running !== undefined;
}

/**
 * Whether the register module ran at all. A program started without
 * `--import <pkg>/src/register.ts` while its config asks for traces says so
 * at start (see `warnIfTelemetryMissing`).
 */
function telemetryStarted(): boolean {
  return startedFor !== undefined;
}

/** OpenTelemetry's metrics as Prometheus text, empty when tracing is off. */
export function telemetryMetricsText(): Promise<string> {
  return running === undefined ? Promise.resolve('') : running.metricsText();
}

/** Flushes the spans still buffered and stops the SDK; called on shutdown. Waits at most `timeoutMs` for an unreachable receiver. */
export async function stopTelemetry(timeoutMs = 2000): Promise<void> {
  const r = running;
  running = undefined;
  if (r === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([r.shutdown(), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  clearTimeout(timer);
}

/**
 * Logs a warning when the config asks for traces but the program was started
 * without its register module, so no span would ever be recorded.
 */
export function warnIfTelemetryMissing(logger: Logger, program: string, exporter: 'otlp' | 'none'): void {
  if (exporter !== 'none' && !telemetryStarted())
    logger.warn(`OTEL_TRACES_EXPORTER=${exporter}, but tracing was not started: run node --import ./${program}/src/register.ts`);
}

/** Lets a test install its own SDK (e.g. an in-memory span exporter) as if the register module had. */
export function useTelemetryForTests(telemetry: RunningTelemetry | undefined): void {
  running = telemetry;
  startedFor = telemetry === undefined ? undefined : 'test';
}
