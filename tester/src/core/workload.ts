import type { Action, Device, UserTagInput } from '@usertags/contracts';
import { mix32, rngAt, STREAMS, zipfRank } from './random.ts';

/** The reference workload's cardinalities (spec §4); the number of cookies is a parameter. */
export const CARDINALITIES = { countries: 100, devices: 3, actions: 2, origins: 1000, brands: 250, categories: 67 } as const;

export const ACTION_NAMES: readonly Action[] = ['VIEW', 'BUY'];
const DEVICE_NAMES: readonly Device[] = ['PC', 'MOBILE', 'TV'];
/** Share of VIEW among the tags; the rest are BUY. */
const VIEW_SHARE = 0.6;
/** Mild skew of origins, brands and categories, so filtered aggregates often find data. */
const VALUE_SKEW = 0.5;
const INT32_MAX = 2_147_483_647;
const INT32_MIN = -2_147_483_648;

/** What fixes the stream: the same shape gives the same tags. */
export interface WorkloadShape {
  readonly seed: number;
  /** Event time of tag 0 (epoch ms); tag i has time `startMs + i`. */
  readonly startMs: number;
  /** How many distinct cookies the stream draws from. */
  readonly cookies: number;
  /** Zipf exponent of cookie popularity: 0 is uniform, about 1 is heavily skewed. */
  readonly cookieSkew: number;
  /** Another set of cookie ids for the same ranks (0: the default set), so runs against one deployment do not share cookies. */
  readonly cookieSalt?: number;
}

/** One generated tag, compact: every dimension is an index into its domain. */
export interface TagRecord {
  readonly index: number;
  readonly timeMs: number;
  /** Cookie rank, 1 is the most active. */
  readonly cookie: number;
  /** The shape's cookie salt: `cookieName(cookie, cookieSalt)` is the cookie's id. */
  readonly cookieSalt: number;
  readonly country: number;
  readonly device: number;
  /** 0 = VIEW, 1 = BUY. */
  readonly action: 0 | 1;
  readonly origin: number;
  readonly brand: number;
  readonly category: number;
  readonly productId: string | number;
  readonly price: number;
  /** Sent as `…:ssZ` (no fraction; spec §1 accepts it) instead of the canonical `…:ss.000Z`. */
  readonly shortTime: boolean;
}

/**
 * Tag `index` of the stream, computed on its own (no state): times advance by
 * exactly 1 ms per tag from `startMs`; cookies follow a Zipf-like popularity
 * so that the busiest ones pass 200 tags per action over a long run; about
 * half of the product ids are JSON numbers (spec §1 note); prices are mostly
 * 1–100,000 with rare int32 extremes and zeros.
 */
export function tagRecord(shape: WorkloadShape, index: number): TagRecord {
  const rnd = rngAt(shape.seed, STREAMS.tags, index);
  const timeMs = shape.startMs + index;
  const cookie = zipfRank(rnd(), shape.cookies, shape.cookieSkew);
  const country = Math.floor(rnd() * CARDINALITIES.countries);
  const d = rnd();
  const device = d < 0.45 ? 1 : d < 0.9 ? 0 : 2;
  const action: 0 | 1 = rnd() < VIEW_SHARE ? 0 : 1;
  const origin = zipfRank(rnd(), CARDINALITIES.origins, VALUE_SKEW) - 1;
  const brand = zipfRank(rnd(), CARDINALITIES.brands, VALUE_SKEW) - 1;
  const category = zipfRank(rnd(), CARDINALITIES.categories, VALUE_SKEW) - 1;
  const p = rnd();
  const n = 1 + Math.floor(rnd() * 9_999_999);
  const productId = p < 0.5 ? n : p < 0.9 ? String(n) : `sku-${n.toString(36)}`;
  const q = rnd();
  const price = q < 0.0005 ? INT32_MAX : q < 0.0007 ? INT32_MIN : q < 0.0017 ? 0 : Math.floor(Math.exp(rnd() * Math.log(100_000)));
  const shortTime = timeMs % 1000 === 0 && rnd() < 0.5;
  const cookieSalt = shape.cookieSalt ?? 0;
  return { index, timeMs, cookie, cookieSalt, country, device, action, origin, brand, category, productId, price, shortTime };
}

/**
 * A cookie's id: 16 characters of standard base64 (so `+` and `/` occur and
 * the path must be percent-encoded). The first four bytes are a bijection of
 * the rank, so distinct ranks never share an id.
 */
export function cookieName(rank: number, salt = 0): string {
  // Salt 0 keeps the default ids; another salt XORs every word with the same constant (still a bijection).
  const k = salt === 0 ? 0 : mix32(salt ^ 0x2545f491);
  const bytes = Buffer.allocUnsafe(12);
  bytes.writeUInt32BE(mix32(rank ^ 0x5bd1e995 ^ k), 0);
  bytes.writeUInt32BE((mix32(rank + 0x1b873593) ^ k) >>> 0, 4);
  bytes.writeUInt32BE((mix32(Math.imul(rank, 0xcc9e2d51) ^ 0xe6546b64) ^ k) >>> 0, 8);
  return bytes.toString('base64');
}

/** A two-letter country code, one per index below 100. */
export function countryName(k: number): string {
  return 'ABCDEFGHIJ'.charAt(Math.floor(k / 10) % 10) + 'KLMNOPQRST'.charAt(k % 10);
}

export const originName = (k: number): string => `origin_${k}`;
export const brandName = (k: number): string => `brand_${k}`;
export const categoryName = (k: number): string => `category_${k}`;

/** The tag as the system must give it back: `time` in the canonical millisecond form. */
export function userTag(rec: TagRecord): UserTagInput {
  return {
    time: new Date(rec.timeMs).toISOString(),
    cookie: cookieName(rec.cookie, rec.cookieSalt),
    country: countryName(rec.country),
    device: DEVICE_NAMES[rec.device] as Device,
    action: ACTION_NAMES[rec.action] as Action,
    origin: originName(rec.origin),
    product_info: {
      product_id: rec.productId,
      brand_id: brandName(rec.brand),
      category_id: categoryName(rec.category),
      price: rec.price,
    },
  };
}

/** The body sent to `POST /user_tags`: the tag, sometimes with a time without fraction. */
export function sentBody(rec: TagRecord): string {
  const tag = userTag(rec);
  if (rec.shortTime) return JSON.stringify({ ...tag, time: `${tag.time.slice(0, 19)}Z` });
  return JSON.stringify(tag);
}
