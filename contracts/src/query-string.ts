import type { FieldIssue } from './errors.ts';

/** A query string decoded: its parameters, and one issue for each parameter that could not be decoded (left out of `params`). */
export interface DecodedQuery {
  readonly params: URLSearchParams;
  readonly issues: readonly FieldIssue[];
}

const NOT_UTF8 = 'is not UTF-8 text once percent-decoded';
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/**
 * Decodes a raw query string (what follows `?`) as URLSearchParams does
 * (application/x-www-form-urlencoded: `+` is a space, `%XX` a byte, a `%`
 * without two hex digits stays itself), except that the bytes must be UTF-8:
 * URLSearchParams turns bytes that are not into U+FFFD, and a query would be
 * answered for a value nobody sent. Each such parameter gets an issue.
 *
 * @example decodeQuery('origin=%FF&action=BUY').issues // [{ field: 'origin', message: 'is not UTF-8 text once percent-decoded' }]
 */
export function decodeQuery(query: string): DecodedQuery {
  const params = new URLSearchParams();
  const issues: FieldIssue[] = [];
  const named = new Set<string>();
  for (const pair of query.split('&')) {
    if (pair.length === 0) continue;
    const eq = pair.indexOf('=');
    const rawName = eq < 0 ? pair : pair.slice(0, eq);
    const name = decodeComponent(rawName);
    const value = decodeComponent(eq < 0 ? '' : pair.slice(eq + 1));
    if (name !== undefined && value !== undefined) {
      params.append(name, value);
      continue;
    }
    // A name that is not UTF-8 is named as sent (the query reaches the server as ASCII).
    const field = name ?? rawName;
    if (!named.has(field)) issues.push({ field, message: name === undefined ? `its name ${NOT_UTF8}` : NOT_UTF8 });
    named.add(field);
  }
  return { params, issues };
}

/** One name or value, percent-decoded and read as UTF-8; `undefined` when its bytes are not UTF-8. */
function decodeComponent(raw: string): string | undefined {
  if (!raw.isWellFormed()) return undefined;
  if (!raw.includes('%') && !raw.includes('+')) return raw;
  const bytes = encoder.encode(raw.replaceAll('+', ' '));
  const out = new Uint8Array(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    const high = hexValue(bytes[i + 1]);
    const low = hexValue(bytes[i + 2]);
    if (byte === 0x25 && high !== undefined && low !== undefined) {
      out[n++] = high * 16 + low;
      i += 2;
    } else out[n++] = byte;
  }
  try {
    return utf8.decode(out.subarray(0, n));
  } catch {
    return undefined;
  }
}

function hexValue(byte: number | undefined): number | undefined {
  if (byte === undefined) return undefined;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : undefined;
}
