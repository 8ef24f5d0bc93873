import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { ProfileStore } from './profile-store.ts';

/**
 * Versions of the profile read model, so that `projector replay profiles` can
 * build a new one from offset 0 while the live one keeps serving. A catalog
 * records which version is live and where its writer must go on reading the
 * log (`resumeFrom`, the offsets the replay had applied when it switched);
 * re-applying profile events is harmless, so the live projector may go back.
 */
export interface ProfileLive {
  readonly version: number;
  /** Per partition, the first offset the live writer must (re)apply after a switch. */
  readonly resumeFrom: ReadonlyMap<number, bigint>;
  /**
   * Whether the live writer has gone back to `resumeFrom` and applied a batch to this version. Until
   * it has, a starting writer begins at `resumeFrom` whatever its consumer group committed.
   */
  readonly adopted: boolean;
  /** The identity of the log this version is built from (core/log-binding.ts); absent until bound. */
  readonly log?: string | undefined;
}

export interface ProfileCatalog {
  /** The live version; version 1 with nothing to resume from when nothing was ever switched. */
  read(): Promise<ProfileLive>;
  write(live: ProfileLive): Promise<void>;
  close(): Promise<void>;
}

export interface ProfileVersioning {
  readonly catalog: ProfileCatalog;
  /** A store fixed on one version. */
  open(version: number): Promise<ProfileStore>;
  /** Deletes what a version holds. */
  drop(version: number): Promise<void>;
}

/** A store that reads and writes the live version, and moves to a new one when the catalog says so. */
export interface FollowingProfileStore extends ProfileStore {
  /** The live version, looked up at most once per `PROFILE_VERSION_CACHE_MS`. */
  current(): Promise<ProfileLive>;
  /** Records that the live writer has adopted `version` (see `ProfileLive.adopted`), unless another is live by now. */
  adopt(version: number): Promise<void>;
  /** Binds the live version to the log `identity` unless it is bound already; resolves the identity it is bound to. */
  bindLog(identity: string): Promise<string>;
}

export const PROFILE_VERSION_CACHE_MS = 1000;
/** How long a store replaced by a newer version stays open for calls already under way. */
const RETIRE_AFTER_MS = 5000;

export function encodeLive(live: ProfileLive): string {
  return JSON.stringify({
    version: live.version,
    resumeFrom: Object.fromEntries([...live.resumeFrom].map(([p, o]) => [p, o.toString()])),
    adopted: live.adopted,
    ...(live.log === undefined ? {} : { log: live.log }),
  });
}

export function decodeLive(text: string): ProfileLive {
  const raw = JSON.parse(text) as { version: number; resumeFrom: Record<string, string>; adopted: boolean; log?: string };
  return {
    version: raw.version,
    resumeFrom: new Map(Object.entries(raw.resumeFrom).map(([p, o]) => [Number(p), BigInt(o)])),
    adopted: raw.adopted,
    ...(typeof raw.log === 'string' ? { log: raw.log } : {}),
  };
}

export const FIRST_VERSION: ProfileLive = { version: 1, resumeFrom: new Map(), adopted: true };

/** The embedded store's catalog: a small JSON file beside the store, replaced atomically. */
export function fileCatalog(path: string): ProfileCatalog {
  const file = `${path}.live.json`;
  return {
    async read() {
      try {
        return decodeLive(await readFile(file, 'utf8'));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return FIRST_VERSION;
        throw error;
      }
    },
    async write(live) {
      const temporary = `${file}.${process.pid}.tmp`;
      writeFileSync(temporary, encodeLive(live), { flush: true });
      renameSync(temporary, file);
    },
    async close() {},
  };
}

/** Where the embedded store keeps a version: the configured file for version 1, `<file>.v<n>` after. */
export function versionPath(path: string, version: number): string {
  return version === 1 ? path : `${path}.v${version}`;
}

export function removeSqliteFiles(path: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
}

export function followLive(versioning: ProfileVersioning): FollowingProfileStore {
  let state: { live: ProfileLive; store: ProfileStore; checkedAt: number } | undefined;
  let refreshing: Promise<ProfileLive> | undefined;

  async function refresh(): Promise<ProfileLive> {
    const live = await versioning.catalog.read();
    if (state === undefined || state.live.version !== live.version) {
      const store = await versioning.open(live.version);
      await store.migrate();
      const retired = state?.store;
      state = { live, store, checkedAt: performance.now() };
      if (retired !== undefined) setTimeout(() => void retired.close().catch(() => {}), RETIRE_AFTER_MS).unref();
    } else {
      state = { ...state, checkedAt: performance.now() };
    }
    return live;
  }

  async function current(): Promise<ProfileLive> {
    if (state !== undefined && performance.now() - state.checkedAt < PROFILE_VERSION_CACHE_MS) return state.live;
    refreshing ??= refresh().finally(() => {
      refreshing = undefined;
    });
    return refreshing;
  }

  async function store(): Promise<ProfileStore> {
    await current();
    return (state as NonNullable<typeof state>).store;
  }

  return {
    current,
    async adopt(version) {
      const live = await versioning.catalog.read();
      if (live.version !== version || live.adopted) return;
      await versioning.catalog.write({ ...live, adopted: true });
      if (state?.live.version === version) state = { ...state, live: { ...live, adopted: true } };
    },
    async bindLog(identity) {
      const live = await versioning.catalog.read();
      if (live.log !== undefined) return live.log;
      const bound = { ...live, log: identity };
      await versioning.catalog.write(bound);
      if (state?.live.version === live.version) state = { ...state, live: bound };
      return identity;
    },
    async migrate() {
      await store();
    },
    async apply(entries, position) {
      await (await store()).apply(entries, position);
    },
    async positions(topic) {
      return (await store()).positions(topic);
    },
    async read(cookie, fromMs, toMs, limit) {
      return (await store()).read(cookie, fromMs, toMs, limit);
    },
    async checkReady() {
      await (await store()).checkReady();
    },
    async close() {
      await state?.store.close();
      state = undefined;
      await versioning.catalog.close();
    },
  };
}
