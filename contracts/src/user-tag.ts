import { z } from 'zod';
import { formatEventTime, parseEventTime } from './instant.ts';
import { EVENT_TIME_PATTERN } from './patterns.ts';
import { MAX_TEXT_CODE_POINTS, textProblem } from './text.ts';

export const DEVICES = ['PC', 'MOBILE', 'TV'] as const;
export const ACTIONS = ['VIEW', 'BUY'] as const;
export type Device = (typeof DEVICES)[number];
export type Action = (typeof ACTIONS)[number];

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * An event time as sent: ISO-8601 UTC with a `Z`, with 0–3 fraction digits.
 * The parsed value is the canonical three-digit form, so what is stored (and
 * given back) is always `2022-03-22T12:15:00.000Z`.
 */
export const EventTime = z
  .string()
  .transform((text, ctx) => {
    const ms = parseEventTime(text);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be an ISO-8601 UTC instant such as 2022-03-22T12:15:00.000Z',
      });
      return z.NEVER;
    }
    // 24 characters that parsed are already the canonical form (four-digit year, three fraction digits, Z).
    return text.length === 24 ? text : formatEventTime(ms);
  })
  .meta({
    pattern: EVENT_TIME_PATTERN,
    description:
      'Event time, ISO-8601 UTC with a Z suffix and 0–3 fraction digits, a date that exists. Answers use the canonical form with three fraction digits.',
    examples: ['2022-03-22T12:15:00.000Z', '2022-03-22T12:15:01Z'],
  });

/**
 * A string field: Unicode text (a lone surrogate could not be stored as UTF-8
 * without changing it) of at most `MAX_TEXT_CODE_POINTS` code points, so a
 * cookie can always be read back through its profile URL.
 */
const text = (schema = z.string()) =>
  schema
    .superRefine((value, ctx) => {
      const problem = textProblem(value);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    })
    // What the documents say (JSON Schema's maxLength counts code points too); the refinement above decides.
    .meta({ maxLength: MAX_TEXT_CODE_POINTS });

/**
 * `product_id` is a string in the published format, but some senders send a
 * JSON number. Both are accepted and the JSON type is kept end to end. A
 * number must be an integer that JSON and Avro `long` both represent exactly.
 */
export const ProductId = z.union([text(), z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER)]);

export const ProductInfo = z.strictObject({
  product_id: ProductId,
  brand_id: text(),
  category_id: text(),
  price: z.number().int().min(INT32_MIN).max(INT32_MAX),
});

/** One action of one shopper, exactly as the contract defines it (unknown fields are rejected). */
export const UserTag = z
  .strictObject({
    time: EventTime,
    cookie: text(z.string().min(1)),
    country: text(),
    device: z.enum(DEVICES),
    action: z.enum(ACTIONS),
    origin: text(),
    product_info: ProductInfo,
  })
  .meta({
    id: 'UserTag',
    description: 'A user tag: one VIEW or BUY of one shopper.',
  });

/** A validated tag; `time` is canonical. */
export type UserTag = z.output<typeof UserTag>;
/** A tag as a client sends it. */
export type UserTagInput = z.input<typeof UserTag>;
