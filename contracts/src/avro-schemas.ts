import type { Schema } from 'avsc';

/**
 * The event as it is stored in the log. `time` is epoch milliseconds;
 * `product_id` keeps the JSON type it arrived in (string or integer).
 *
 * Evolving it: add a new constant (v2, …) with the change made compatibly
 * (new fields need defaults), append it to `WRITER_SCHEMAS`, and make it the
 * `CURRENT` one. Old payloads keep decoding, because each carries the
 * fingerprint of the schema that wrote it.
 */
export const USER_TAG_V1: Schema = {
  type: 'record',
  name: 'UserTag',
  namespace: 'usertags.event',
  fields: [
    { name: 'time', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'cookie', type: 'string' },
    { name: 'country', type: 'string' },
    { name: 'device', type: { type: 'enum', name: 'Device', symbols: ['PC', 'MOBILE', 'TV'] } },
    { name: 'action', type: { type: 'enum', name: 'Action', symbols: ['VIEW', 'BUY'] } },
    { name: 'origin', type: 'string' },
    {
      name: 'product_info',
      type: {
        type: 'record',
        name: 'ProductInfo',
        fields: [
          { name: 'product_id', type: ['string', 'long'] },
          { name: 'brand_id', type: 'string' },
          { name: 'category_id', type: 'string' },
          { name: 'price', type: 'int' },
        ],
      },
    },
  ],
};

/** Every schema a payload in the log may have been written with, oldest first. */
export const WRITER_SCHEMAS: readonly Schema[] = [USER_TAG_V1];

/** The schema this code writes with and reads into. */
export const CURRENT_SCHEMA: Schema = USER_TAG_V1;
