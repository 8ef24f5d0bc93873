/** The path and the raw query string (without `?`) of a request. */
export interface TargetParts {
  readonly path: string;
  readonly query: string;
}

// scheme "://" authority: what absolute-form puts before the path (RFC 9112 §3.2.2).
const SCHEME_AND_AUTHORITY = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

/**
 * Splits a request target as received (`req.url`, still percent-encoded)
 * into its path and query, in origin-form (`/user_profiles/x?…`) and in
 * absolute-form (`http://host/user_profiles/x?…`, legal HTTP/1.1 that proxies
 * send). A fragment is not part of a request target; if one is sent anyway it
 * is dropped, as the router does, so the path is the one that was routed.
 *
 * @example splitTarget('http://evil.example/user_profiles/x?limit=1') // { path: '/user_profiles/x', query: 'limit=1' }
 */
export function splitTarget(target: string): TargetParts {
  const authority = SCHEME_AND_AUTHORITY.exec(target);
  let rest = authority === null ? target : target.slice(authority[0].length);
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  return { path: path.length === 0 ? '/' : path, query: q < 0 ? '' : rest.slice(q + 1) };
}
