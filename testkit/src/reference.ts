import type { UserTagInput } from '@usertags/contracts';
import { random } from './stream.ts';

/** The spec's reference workload cardinalities (§4). */
export const REFERENCE = { cookies: 1_000_000, countries: 100, origins: 1000, brands: 250, categories: 67 } as const;

/**
 * The reference workload's tag stream for a seed: times start at `startMs`
 * and advance by exactly 1 ms per tag; values are drawn uniformly from the
 * reference cardinalities. Generated lazily, so millions of tags cost no memory.
 */
export function* referenceTags(seed: number, startMs: number, count: number, cookies: number = REFERENCE.cookies): Generator<UserTagInput> {
  const rnd = random(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  for (let i = 0; i < count; i++) {
    yield {
      time: new Date(startMs + i).toISOString(),
      cookie: `cookie-${int(cookies)}`,
      country: `C${int(REFERENCE.countries)}`,
      device: (['PC', 'MOBILE', 'TV'] as const)[int(3)] as UserTagInput['device'],
      action: rnd() < 0.5 ? 'VIEW' : 'BUY',
      origin: `origin-${int(REFERENCE.origins)}`,
      product_info: {
        product_id: String(int(100_000)),
        brand_id: `brand-${int(REFERENCE.brands)}`,
        category_id: `category-${int(REFERENCE.categories)}`,
        price: int(100_000),
      },
    };
  }
}
