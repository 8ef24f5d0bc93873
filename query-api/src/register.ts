// Loaded before main.ts — `node --import ./query-api/src/register.ts query-api/src/main.ts` — because
// the instrumentations must hook express, pg and node:http before anything imports them.
import { startTelemetry } from '@usertags/runtime/telemetry';

await startTelemetry('query-api', ['http', 'express', 'pg']);
