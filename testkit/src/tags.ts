import type { UserTagInput } from '@usertags/contracts';

/** A valid tag; `n` varies the cookie, time and product so tags are distinguishable. */
export function sampleTag(n: number, overrides: Partial<UserTagInput> = {}): UserTagInput {
  return {
    time: new Date(Date.UTC(2022, 2, 22, 12, 0, 0) + n).toISOString(),
    cookie: `cookie-${n % 37}`,
    country: 'PL',
    device: (['PC', 'MOBILE', 'TV'] as const)[n % 3] as UserTagInput['device'],
    action: n % 4 === 0 ? 'BUY' : 'VIEW',
    origin: `origin_${n % 11}`,
    product_info: { product_id: n % 2 === 0 ? String(n) : n, brand_id: `brand_${n % 5}`, category_id: `cat_${n % 7}`, price: n * 13 },
    ...overrides,
  };
}

export async function postTag(baseUrl: string, body: unknown, init: { contentType?: string; raw?: string } = {}): Promise<Response> {
  return fetch(`${baseUrl}/user_tags`, {
    method: 'POST',
    headers: { 'content-type': init.contentType ?? 'application/json' },
    body: init.raw ?? JSON.stringify(body),
  });
}
