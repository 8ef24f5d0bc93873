/**
 * What the tester knows about one tag when it builds an expected answer:
 * - `visible`: answered 2xx long enough ago that the freshness bound says the
 *   query side must show it;
 * - `absent`: certainly not stored (never sent, or refused with 4xx or 503);
 * - `unknown`: may or may not be stored or visible yet (in flight, answered
 *   too recently, timed out, connection error, another 5xx).
 */
export type Knowledge = 'visible' | 'absent' | 'unknown';

/** An expected answer, or why there is none: some tag the answer depends on is `unknown`. */
export type Expected<T> = { readonly determined: true; readonly answer: T } | { readonly determined: false; readonly reason: string };
