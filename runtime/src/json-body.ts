import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import { ContractError, type FieldIssue } from '@usertags/contracts';
import { bodyCutShort } from './cut-short.ts';

// Fatal: bytes that are not UTF-8 are refused, not turned into U+FFFD. A BOM is kept, so JSON.parse refuses it as before.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const NOT_JSON_TYPE = 'the body must be application/json';
const NOT_UTF8_CHARSET = 'the body must be UTF-8: charset=utf-8, or no charset';

/** Why a body with this Content-Type is refused (415), or `undefined` when it is JSON in UTF-8. */
function contentTypeProblem(header: string | undefined): string | undefined {
  if (header === undefined) return NOT_JSON_TYPE;
  const semicolon = header.indexOf(';');
  const type = (semicolon < 0 ? header : header.slice(0, semicolon)).trim().toLowerCase();
  if (type !== 'application/json' && !(type.startsWith('application/') && type.endsWith('+json'))) return NOT_JSON_TYPE;
  if (semicolon < 0) return undefined;
  // Parameters (RFC 9110 §5.6.6): name=token or name="quoted string"; only charset matters, and JSON is UTF-8 (RFC 8259 §8.1).
  for (const [, name, quoted, token] of header.slice(semicolon).matchAll(/;\s*([^\s;=]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;]*))/g)) {
    if (name?.toLowerCase() !== 'charset') continue;
    const charset = (quoted?.replaceAll(/\\(.)/g, '$1') ?? token ?? '').toLowerCase();
    if (charset !== 'utf-8' && charset !== 'utf8') return NOT_UTF8_CHARSET;
  }
  return undefined;
}

/** True for `application/json` and `application/<x>+json` whose charset, if one is given, is UTF-8; other parameters are ignored. */
export function isJsonContentType(header: string | undefined): boolean {
  return contentTypeProblem(header) === undefined;
}

/**
 * Reads a request body of at most `limit` bytes. Rejects with
 * PAYLOAD_TOO_LARGE as soon as the limit is passed, without reading the rest,
 * and with REQUEST_TIMEOUT or CLIENT_CLOSED when the body stops before its end.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge(limit));
  // Gone before anyone read it (a handler may read the body late, as debug mode does): no event would come any more.
  if (req.destroyed) return Promise.reject(bodyCutShort(req));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    // node:http ends an unfinished body with an "aborted" error when the connection closes; either way it is cut short.
    const onCutShort = () => {
      cleanup();
      reject(bodyCutShort(req));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onCutShort);
      req.off('close', onCutShort);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onCutShort);
    req.on('close', onCutShort);
  });
}

/**
 * Reads a request body of at most `limit` bytes as UTF-8 text. Rejects as
 * `readBody` does, and with INVALID_REQUEST when the bytes are not UTF-8.
 */
export async function readTextBody(req: IncomingMessage, limit: number): Promise<string> {
  const bytes = await readBody(req, limit);
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ContractError('INVALID_REQUEST', 'the body is not valid UTF-8', {
      issues: [{ field: '(body)', message: 'is not valid UTF-8' }],
    });
  }
}

/**
 * Reads a JSON request body of at most `limit` bytes. Rejects with
 * UNSUPPORTED_MEDIA_TYPE (not JSON, or a charset other than UTF-8),
 * PAYLOAD_TOO_LARGE, MALFORMED_JSON (not JSON, or not UTF-8: naming the
 * fields where such bytes are), REQUEST_TIMEOUT or CLIENT_CLOSED; the problem
 * mapper turns those into 415, 413, 400, 408 and 499.
 */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const typeProblem = contentTypeProblem(req.headers['content-type']);
  if (typeProblem !== undefined) throw new ContractError('UNSUPPORTED_MEDIA_TYPE', typeProblem);
  const bytes = await readBody(req, limit);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw notUtf8(bytes);
  }
  if (text.trim().length === 0) throw new ContractError('MALFORMED_JSON', 'the body is empty; a JSON user tag is required');
  try {
    return JSON.parse(text);
  } catch {
    throw new ContractError('MALFORMED_JSON', 'the body is not valid JSON');
  }
}

function tooLarge(limit: number): ContractError {
  return new ContractError('PAYLOAD_TOO_LARGE', `the body is larger than ${limit} bytes`);
}

/** The error for a JSON body that is not UTF-8, naming the fields where the bad bytes are when the body is JSON otherwise. */
function notUtf8(bytes: Buffer): ContractError {
  let issues: FieldIssue[] = [];
  try {
    issues = issuesNotWellFormed(JSON.parse(decodeMarkingInvalid(bytes)));
  } catch {
    // Not JSON even with the bad bytes set aside (they are outside any string): the body as a whole is named.
  }
  if (issues.length === 0) issues = [{ field: '(body)', message: 'is not valid UTF-8' }];
  const fields = [...new Set(issues.map((i) => i.field))].join(', ');
  return new ContractError('MALFORMED_JSON', `the body is not valid UTF-8: ${fields}`, { issues });
}

/**
 * Decodes UTF-8, turning each byte that is not part of a well-formed sequence
 * into a lone surrogate (U+DC80–U+DCFF), which no valid UTF-8 decodes to: the
 * strings that hold one are where the bad bytes were.
 */
function decodeMarkingInvalid(bytes: Buffer): string {
  const parts: string[] = [];
  let start = 0;
  let i = 0;
  while (i < bytes.length) {
    const length = sequenceLength(bytes, i);
    if (length > 0) {
      i += length;
      continue;
    }
    parts.push(bytes.toString('utf8', start, i), String.fromCharCode(0xdc00 + (bytes[i] as number)));
    start = ++i;
  }
  parts.push(bytes.toString('utf8', start));
  return parts.join('');
}

/** The length of the well-formed UTF-8 sequence that starts at `i`, 0 when none does. */
function sequenceLength(bytes: Buffer, i: number): number {
  const lead = bytes[i] as number;
  if (lead < 0x80) return 1;
  const length = lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
  return length > 0 && i + length <= bytes.length && isUtf8(bytes.subarray(i, i + length)) ? length : 0;
}

/** Every string in a parsed JSON value that is not well-formed Unicode, in document order, by dotted path as validation names fields. */
function issuesNotWellFormed(value: unknown): FieldIssue[] {
  const issues: FieldIssue[] = [];
  // Depth first without recursion (a body may nest thousands of levels); children pushed last first, so they come out in order.
  const stack: Array<[unknown, string]> = [[value, '']];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [item, path] = top;
    if (typeof item === 'string') {
      if (!item.isWellFormed()) issues.push({ field: path || '(body)', message: 'is not valid UTF-8' });
    } else if (typeof item === 'object' && item !== null) {
      const entries = Object.entries(item);
      if (entries.some(([key]) => !key.isWellFormed()))
        issues.push({ field: path || '(body)', message: 'has a field name that is not valid UTF-8' });
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i] as [string, unknown];
        stack.push([child, path === '' ? key : `${path}.${key}`]);
      }
    }
  }
  return issues;
}
