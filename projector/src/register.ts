// Loaded before main.ts — `node --import ./projector/src/register.ts projector/src/main.ts` — because
// the pg instrumentation must hook pg before anything imports it. The projector's HTTP serves only
// /health, /ready and /metrics, which are never traced; its batch and store spans are made by hand.
import { startTelemetry } from '@usertags/runtime/telemetry';

await startTelemetry('projector', ['pg']);
