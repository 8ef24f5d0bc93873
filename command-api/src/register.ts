// Loaded before main.ts — `node --import ./command-api/src/register.ts command-api/src/main.ts` — because
// the instrumentations must hook express, pg and node:http before anything imports them.
import { startTelemetry } from '@usertags/runtime/telemetry';

await startTelemetry('command-api');
