// Loaded before main.ts — `node --import ./command-api/src/register.ts command-api/src/main.ts` — so
// tracing is set up before the program's modules load. The command API instruments no library
// automatically: its one route makes its server span by hand (adapters/otel-ingest-tracing.ts), because
// the HTTP and express instrumentations cost ingest more than half its throughput (docs/decisions.md).
import { startTelemetry } from '@usertags/runtime/telemetry';

await startTelemetry('command-api', []);
