// The trace receiver for bench:tracing: stands where an OpenTelemetry
// collector would, in a process of its own, and reads and acknowledges each
// OTLP/HTTP export without keeping it — the exporting side pays its full cost.
import { startOtlpReceiver } from '@usertags/testkit';

const receiver = await startOtlpReceiver({ port: Number(process.env.PORT ?? 0), keep: false });
process.stdout.write(`${JSON.stringify({ msg: 'listening', url: receiver.url })}\n`);
process.on('SIGTERM', () => {
  process.stderr.write(`otlp-sink: ${receiver.requests()} export requests\n`);
  void receiver.close().then(() => process.exit(0));
});
