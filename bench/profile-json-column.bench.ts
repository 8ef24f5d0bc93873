// bench/profile-json-column.bench.ts — what a profile answer would cost if the profile store kept each
// tag's JSON text beside its payload (a candidate layout, issue 20; not what the store does). In one
// process, no HTTP: the bench's store of 200 cookies × 200 tags (as bench:profile-reads fills it), then
// a copy of its rows with a `json` column, and the whole answer of every cookie assembled both ways —
// checked byte for byte first, then timed, the two ways taking turns.
//
//   node bench/profile-json-column.bench.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { createEventCodec, createTagJsonWriter, JsonBytes, type ProfileQuery } from '@usertags/contracts';
import { createSqliteProfileStore } from '@usertags/read-models';
import { referenceTags } from '@usertags/testkit';
import { answerProfileJson } from '../query-api/src/core/profiles.ts';
import { applyProfileTags } from './support.ts';

const COOKIES = 200;
const START = Date.UTC(2022, 2, 1);
const dir = mkdtempSync(join(tmpdir(), 'bench-json-column-'));
const path = join(dir, 'profiles.sqlite');
const codec = createEventCodec();
const write = createTagJsonWriter(codec);

const filling = createSqliteProfileStore(path);
await applyProfileTags(filling, referenceTags(3, START, COOKIES * 200, COOKIES));
await filling.close();

// The candidate: every row's JSON text, written once (as a projector would when it applies the tag).
const db = new DatabaseSync(path);
db.exec('ALTER TABLE profile_tags ADD COLUMN json TEXT');
const rows = db.prepare('SELECT cookie, action, time_ms, digest, payload FROM profile_tags').all() as Array<{
  cookie: string;
  action: number;
  time_ms: number;
  digest: Uint8Array;
  payload: Uint8Array;
}>;
const update = db.prepare('UPDATE profile_tags SET json = ? WHERE cookie = ? AND action = ? AND time_ms = ? AND digest = ?');
db.exec('BEGIN');
for (const r of rows) {
  const out = new JsonBytes(512);
  write(r.payload, out);
  update.run(out.bytes().toString(), r.cookie, r.action, r.time_ms, r.digest);
}
db.exec('COMMIT');
const readJson = db.prepare(
  `SELECT json FROM (SELECT time_ms, digest, json FROM profile_tags WHERE cookie = ?1 AND action = ?2
     ORDER BY time_ms DESC, digest DESC LIMIT 200) WHERE time_ms >= ?3 AND time_ms < ?4 ORDER BY time_ms DESC, digest DESC LIMIT ?5`,
);
readJson.setReturnArrays(true);
const texts = (query: ProfileQuery, action: number) =>
  (readJson.all(query.cookie, action, query.range.fromMs, query.range.toMs, query.limit) as unknown as Array<[string]>)
    .map((r) => r[0])
    .join(',');
const fromStoredJson = (query: ProfileQuery) =>
  Buffer.from(`{"cookie":${JSON.stringify(query.cookie)},"views":[${texts(query, 0)}],"buys":[${texts(query, 1)}]}`);

const store = createSqliteProfileStore(path);
const query = (i: number) => ({ cookie: `cookie-${i % COOKIES}`, range: { fromMs: START, toMs: START + 1e9 }, limit: 200 }) as ProfileQuery;
for (let i = 0; i < COOKIES; i++) {
  const now = await answerProfileJson(query(i), store, write);
  if (!now.equals(fromStoredJson(query(i)))) throw new Error(`cookie-${i}: the two ways answer different bytes`);
}
console.log(`${COOKIES} answers, the same bytes both ways; µs per answer (~200 tags, ~44 KiB):`);
const N = 5000;
for (let round = 1; round <= 4; round++) {
  let t0 = performance.now();
  for (let i = 0; i < N; i++) await answerProfileJson(query(i), store, write);
  const now = ((performance.now() - t0) * 1000) / N;
  t0 = performance.now();
  for (let i = 0; i < N; i++) fromStoredJson(query(i));
  const candidate = ((performance.now() - t0) * 1000) / N;
  console.log(
    `round ${round}: payloads → JSON ${now.toFixed(0)} µs, stored JSON ${candidate.toFixed(0)} µs (${(candidate / now).toFixed(2)}×)`,
  );
}
await store.close();
db.close();
rmSync(dir, { recursive: true, force: true });
