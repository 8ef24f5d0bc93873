import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { ContractError } from '@usertags/contracts';
import { readJsonBody } from '../src/json-body.ts';

/** A request whose body is `chunks`, with a JSON content type unless told otherwise. */
function request(chunks: Buffer[], contentType = 'application/json'): IncomingMessage {
  return Object.assign(Readable.from(chunks), { headers: { 'content-type': contentType } }) as unknown as IncomingMessage;
}

/** The body bytes of `parts`: strings as UTF-8, numbers as single raw bytes. */
const bytes = (...parts: Array<string | number>) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from([p]))));

async function refusal(req: IncomingMessage): Promise<ContractError> {
  try {
    await readJsonBody(req, 1000);
  } catch (error) {
    assert.ok(error instanceof ContractError);
    return error;
  }
  assert.fail('the body was accepted');
}

describe('a JSON body', () => {
  it('is parsed when it is UTF-8, split anywhere, four-byte characters and U+FFFD included', async () => {
    const body = Buffer.from(JSON.stringify({ cookie: '🍪 ü \ufffd' }));
    assert.deepEqual(await readJsonBody(request([body.subarray(0, 11), body.subarray(11)]), 1000), { cookie: '🍪 ü \ufffd' });
  });

  const notUtf8: Array<[string, Buffer, string[]]> = [
    ['a byte FF in a value', bytes('{"cookie":"a', 0xff, 'b","origin":"o"}'), ['cookie']],
    ['bytes in two nested values', bytes('{"a":[1,{"b":"', 0xc0, 0xaf, '"}],"c":{"d":"', 0xed, 0xa0, 0x80, '"}}'), ['a.1.b', 'c.d']],
    ['a byte in a field name', bytes('{"x":{"k', 0xfe, '":1}}'), ['x']],
    ['a byte outside any string', bytes('{"a":1', 0xff, '}'), ['(body)']],
    ['a string that is cut short', bytes('{"a":"', 0xe2, 0x82), ['(body)']],
  ];
  for (const [what, body, fields] of notUtf8) {
    it(`that is not UTF-8 (${what}) is MALFORMED_JSON naming ${fields.join(', ')}`, async () => {
      const error = await refusal(request([body]));
      assert.equal(error.code, 'MALFORMED_JSON');
      assert.deepEqual(
        error.issues.map((i) => i.field),
        fields,
      );
      assert.match(error.message, /not valid UTF-8/);
    });
  }

  it('is refused with 415 in a charset other than UTF-8', async () => {
    const error = await refusal(request([bytes('{"a":"', 0xe9, '"}')], 'application/json; charset=ISO-8859-1'));
    assert.equal(error.code, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('keeps a byte order mark, which JSON.parse refuses as before', async () => {
    const error = await refusal(request([bytes(0xef, 0xbb, 0xbf, '{}')]));
    assert.equal(error.code, 'MALFORMED_JSON');
    assert.deepEqual(error.issues, []);
  });

  it('cut short by the connection closing is CLIENT_CLOSED', async () => {
    const stream = new Readable({ read() {} });
    const req = Object.assign(stream, { headers: { 'content-type': 'application/json' } }) as unknown as IncomingMessage;
    const reading = refusal(req);
    stream.push('{"cookie":');
    // What node:http does to an unfinished request when its connection closes.
    setImmediate(() => stream.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })));
    assert.equal((await reading).code, 'CLIENT_CLOSED');
  });
});
