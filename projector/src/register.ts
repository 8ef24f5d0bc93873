// Loaded before main.ts — `node --import ./projector/src/register.ts projector/src/main.ts` — because
// the instrumentations must hook express, pg and node:http before anything imports them.
import { startTelemetry } from '@usertags/runtime/telemetry';

await startTelemetry('projector');
