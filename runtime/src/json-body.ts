import type { IncomingMessage } from 'node:http';
import { ContractError } from '@usertags/contracts';

/** True for `application/json` and `application/<x>+json`, with any parameters. */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const type = (header.split(';', 1)[0] as string).trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/**
 * Reads a request body of at most `limit` bytes as UTF-8 text. Rejects with
 * PAYLOAD_TOO_LARGE as soon as the limit is passed, without reading the rest.
 */
export function readTextBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge(limit));
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
      resolve(chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks, size).toString('utf8'));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/**
 * Reads a JSON request body of at most `limit` bytes. Rejects with
 * UNSUPPORTED_MEDIA_TYPE, PAYLOAD_TOO_LARGE or MALFORMED_JSON; the problem
 * mapper turns those into 415, 413 and 400.
 */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  if (!isJsonContentType(req.headers['content-type'])) {
    throw new ContractError('UNSUPPORTED_MEDIA_TYPE', 'the body must be application/json');
  }
  const text = await readTextBody(req, limit);
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
