/**
 * The longest text accepted, in Unicode code points (as JSON Schema's
 * `maxLength` counts): each string field of a tag, the cookie of
 * `/user_profiles/{cookie}` and each `/aggregates` filter.
 */
export const MAX_TEXT_CODE_POINTS = 256;
