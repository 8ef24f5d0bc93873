// bench/profile-writer.ts — a stand-in for the projector writing the profile store while it is read
// (bench:profile-reads): tags of cookies the reads do not ask for, applied through the store's apply()
// with a log position, in batches every 100 ms at WRITE_RATE tags/s, until SIGTERM. The store comes from
// the settings the query API reads (PROFILES=sqlite:<file> or aerospike://<hosts>/<namespace>, AEROSPIKE_SET).
import { createEventCodec, parseUserTag } from '@usertags/contracts';
import { openProfileStore } from '@usertags/read-models';
import { chooseProfiles } from '@usertags/runtime';
import { referenceTags } from '@usertags/testkit';
import { profileEntryOf } from './support.ts';

const rate = Number(process.env.WRITE_RATE ?? 4000);
// The store the query API's settings choose (PROFILES, AEROSPIKE_SET, …), read the same way.
const store = await openProfileStore(
  chooseProfiles({
    PROFILES: process.env.PROFILES,
    AEROSPIKE_NAMESPACE: process.env.AEROSPIKE_NAMESPACE ?? 'test',
    AEROSPIKE_SET: process.env.AEROSPIKE_SET ?? 'profiles',
    PROFILE_STORE_PATH: '',
  }),
);
const codec = createEventCodec();
// 20,000 writer cookies, none of them read by the bench (it reads cookie-<n>).
const tags = referenceTags(7, Date.UTC(2022, 2, 2), Number.MAX_SAFE_INTEGER, 20_000);
let offset = 0n;
let stopping = false;
process.once('SIGTERM', () => {
  stopping = true;
});
const perBatch = Math.max(1, Math.round(rate / 10));
let next = performance.now();
let applied = 0;
console.log(JSON.stringify({ msg: 'writing', url: 'http://writer', rate }));
while (!stopping) {
  const entries = [];
  for (let i = 0; i < perBatch; i++) {
    const input = tags.next().value;
    const parsed = parseUserTag({ ...input, cookie: `writer-${input.cookie}` });
    if (!parsed.ok) throw parsed.error;
    entries.push(profileEntryOf(codec, parsed.value, offset++));
  }
  await store.apply(entries, { topic: 'bench-profile-writer', partition: 0, nextOffset: offset });
  applied += entries.length;
  next += 100;
  await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
}
await store.close();
console.log(JSON.stringify({ msg: 'stopped', applied }));
process.exit(0);
