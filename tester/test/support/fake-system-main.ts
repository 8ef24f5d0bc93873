// Runs the fake system in a process of its own (so the tester under test has
// its event loop to itself, as against a real deployment); prints its URL.
//   node fake-system-main.ts '{"keep":200,"bug":"none"}'
import { type FakeSystemOptions, startFakeSystem } from './fake-system.ts';

const options = JSON.parse(process.argv[2] ?? '{"keep":"all"}') as FakeSystemOptions;
const system = await startFakeSystem(options);
process.stdout.write(`${system.url}\n`);
process.on('SIGTERM', () => {
  void system.close().then(() => process.exit(0));
});
