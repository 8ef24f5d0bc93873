import assert from 'node:assert/strict';
import { ProblemBody } from '@usertags/contracts';
import fc from 'fast-check';
import { type RawAnswer, rawRequest } from './http.ts';

/** The part of an OpenAPI 3.1 document the generators read. */
export interface OpenApiDocument {
  readonly paths: Record<string, Record<string, OpenApiOperation>>;
  readonly components: { readonly schemas: Record<string, JsonSchema> };
}

interface OpenApiOperation {
  readonly parameters?: ReadonlyArray<{ name: string; in: 'query' | 'path'; required: boolean; schema: JsonSchema }>;
  readonly requestBody?: { content: Record<string, { schema: JsonSchema }> };
}

interface JsonSchema {
  readonly $ref?: string;
  readonly type?: string;
  readonly enum?: readonly unknown[];
  readonly anyOf?: readonly JsonSchema[];
  readonly properties?: Record<string, JsonSchema>;
  readonly required?: readonly string[];
  readonly items?: JsonSchema;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly examples?: readonly unknown[];
}

/** One generated request, and where it came from, so a test can predict its answer. */
export interface FuzzRequest {
  readonly method: string;
  /** The request target as sent: path and query, possibly not valid at all. */
  readonly target: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** The documented operation it was built from, when its path was kept intact. */
  readonly operation?: {
    readonly path: string;
    readonly method: string;
    readonly query: string;
    readonly pathValues: Record<string, string>;
  };
}

/**
 * Arbitraries for named fields or parameters whose schema says too little
 * (`time` is a string; the server wants an instant): values the server accepts,
 * and values that look close but are not.
 */
export type Hints = Readonly<Record<string, { readonly valid: fc.Arbitrary<unknown>; readonly invalid: fc.Arbitrary<unknown> }>>;

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'TRACE', 'CONNECT', 'PROPFIND', 'FOO'];
const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset="UTF-8"',
  'application/json; charset=iso-8859-1',
  'APPLICATION/JSON',
  'application/vnd.usertags+json',
  'application/problem+json',
  'text/plain',
  'text/json',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  '',
  'json',
  ';;;',
];

/** Instants in the forms the API accepts, and near misses (offsets, no zone, too many digits, impossible dates). */
export const instantHint: Hints[string] = (() => {
  const date = fc.date({ min: new Date(0), max: new Date(Date.UTC(2100, 0)), noInvalidDate: true });
  return {
    valid: date.chain((d) =>
      fc.constantFrom(d.toISOString(), d.toISOString().replace(/\.\d{3}Z$/, 'Z'), d.toISOString().replace(/\dZ$/, 'Z')),
    ),
    invalid: fc.oneof(
      date.chain((d) =>
        fc.constantFrom(
          d.toISOString().replace('Z', '+01:00'),
          d.toISOString().replace('Z', ''),
          d.toISOString().replace('Z', '123Z'),
          d.toISOString().replace('T', ' '),
          String(d.getTime()),
        ),
      ),
      fc.constantFrom('2022-02-30T12:00:00.000Z', '2022-03-22T24:00:00Z', '+012022-03-22T12:00:00Z', '', 'now'),
      fc.string(),
    ),
  };
})();

function resolve(doc: OpenApiDocument, schema: JsonSchema): JsonSchema {
  if (schema.$ref === undefined) return schema;
  return doc.components.schemas[schema.$ref.split('/').at(-1) as string] ?? {};
}

/** Half values the schema allows (objects complete, enums and ranges kept), half near misses and anything JSON at all. */
export function valueFor(doc: OpenApiDocument, schema: JsonSchema, hints: Hints, name = ''): fc.Arbitrary<unknown> {
  return fc.oneof(conforming(doc, schema, hints, name, 0), anyValue(doc, schema, hints, name, 0));
}

function conforming(doc: OpenApiDocument, given: JsonSchema, hints: Hints, name: string, depth: number): fc.Arbitrary<unknown> {
  const hint = hints[name];
  if (hint !== undefined) return hint.valid;
  const schema = resolve(doc, given);
  if (schema.anyOf !== undefined) return fc.oneof(...schema.anyOf.map((s) => conforming(doc, s, hints, name, depth)));
  if (schema.enum !== undefined) return fc.constantFrom(...schema.enum);
  if (schema.type === 'object' && depth < 3) {
    const properties = Object.fromEntries(
      Object.entries(schema.properties ?? {}).map(([key, s]) => [key, conforming(doc, s, hints, key, depth + 1)]),
    );
    const required = (schema.required ?? []).filter((k) => k in properties);
    return fc.record(properties, { requiredKeys: required });
  }
  if (schema.type === 'array') return fc.array(conforming(doc, schema.items ?? {}, hints, name, depth + 1), { minLength: 1, maxLength: 3 });
  if (schema.type === 'integer') {
    return fc.integer({
      min: Math.max(schema.minimum ?? -(2 ** 31), Number.MIN_SAFE_INTEGER),
      max: Math.min(schema.maximum ?? 2 ** 31 - 1, Number.MAX_SAFE_INTEGER),
    });
  }
  if (schema.type === 'string') {
    const examples = (schema.examples ?? []).map(String);
    if (examples.length > 0) return fc.constantFrom(...examples);
    return fc.oneof(fc.string({ minLength: 1, maxLength: 30 }), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }));
  }
  return fc.jsonValue({ maxDepth: 2 });
}

/** Near misses: wrong types, values out of range or outside the enum, fields missing or unknown, anything JSON. */
function anyValue(doc: OpenApiDocument, given: JsonSchema, hints: Hints, name: string, depth: number): fc.Arbitrary<unknown> {
  const anything = fc.jsonValue({ maxDepth: 2 });
  const hint = hints[name];
  const schema = resolve(doc, given);
  let typed: fc.Arbitrary<unknown>;
  if (hint !== undefined) typed = fc.oneof(hint.valid, hint.invalid);
  else if (schema.anyOf !== undefined) typed = fc.oneof(...schema.anyOf.map((s) => anyValue(doc, s, hints, name, depth)));
  else if (schema.enum !== undefined) {
    const values = schema.enum.map(String);
    typed = fc.oneof(fc.constantFrom(...values), fc.constantFrom(...values.map((v) => v.toLowerCase())), fc.string({ maxLength: 8 }));
  } else if (schema.type === 'object' && depth < 3) {
    const properties = Object.fromEntries(
      Object.entries(schema.properties ?? {}).map(([key, s]) => [
        key,
        fc.oneof({ arbitrary: conforming(doc, s, hints, key, depth + 1), weight: 3 }, anyValue(doc, s, hints, key, depth + 1)),
      ]),
    );
    const required = (schema.required ?? []).filter((k) => k in properties);
    typed = fc
      .tuple(
        fc.record(properties, { requiredKeys: required }),
        fc.option(fc.subarray(required, { maxLength: 2 }), { freq: 3 }),
        fc.option(fc.dictionary(fc.constantFrom('extra', '__proto__', 'constructor', 'cookie ', 'TIME', ''), anything, { maxKeys: 2 }), {
          freq: 3,
        }),
      )
      .map(([record, drop, extra]) => {
        const out: Record<string, unknown> = { ...record };
        for (const key of drop ?? []) delete out[key];
        for (const [key, value] of Object.entries(extra ?? {})) Object.defineProperty(out, key, { value, enumerable: true });
        return out;
      });
  } else if (schema.type === 'array') typed = fc.array(anyValue(doc, schema.items ?? {}, hints, name, depth + 1), { maxLength: 4 });
  else if (schema.type === 'integer') {
    const min = schema.minimum ?? -(2 ** 31);
    const max = schema.maximum ?? 2 ** 31 - 1;
    typed = fc.oneof(
      fc.constantFrom(min, max, min - 1, max + 1, 0, -0, 1.5, 1e21, Number.MAX_SAFE_INTEGER + 2),
      fc.double(),
      fc.integer().map(String),
    );
  } else if (schema.type === 'string') {
    const examples = (schema.examples ?? []).map(String);
    typed = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom('', ' ', '%', '%00', '\u0000', '../..', '😀', 'a'.repeat(1000)),
      ...(examples.length > 0 ? [fc.constantFrom(...examples).chain((e) => mutated(e))] : []),
    );
  } else typed = anything;
  return fc.oneof({ arbitrary: typed, weight: 6 }, { arbitrary: anything, weight: 1 });
}

/** A string with a few characters changed, inserted or removed. */
function mutated(text: string): fc.Arbitrary<string> {
  return fc
    .array(fc.tuple(fc.nat({ max: text.length }), fc.nat({ max: 3 }), fc.string({ maxLength: 2 })), { minLength: 1, maxLength: 3 })
    .map((edits) => {
      let out = text;
      for (const [at, cut, insert] of edits) out = out.slice(0, at) + insert + out.slice(at + cut);
      return out;
    });
}

/** A query or path value encoded the right way, not at all, or wrongly (bad percent sequences, overlong UTF-8). */
const encoded = (value: string): fc.Arbitrary<string> =>
  fc.oneof(
    { arbitrary: fc.constant(encodeURIComponent(value)), weight: 6 },
    { arbitrary: fc.constant(value), weight: 1 },
    {
      arbitrary: fc.constantFrom(`${encodeURIComponent(value)}%`, `%zz${encodeURIComponent(value)}`, '%E0%A4%A', '%C0%AF', '%FF%FE'),
      weight: 1,
    },
  );

/** Half the time a query the documentation allows (every required parameter once, values that conform), half the time a mangled one. */
function queryFor(doc: OpenApiDocument, op: OpenApiOperation, hints: Hints): fc.Arbitrary<string> {
  const params = (op.parameters ?? []).filter((p) => p.in === 'query');
  const itemSchema = (p: (typeof params)[number]) => (p.schema.type === 'array' ? (p.schema.items ?? {}) : p.schema);
  const text = (v: unknown) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));
  const documented = fc
    .tuple(
      ...params.map((p) =>
        fc
          .tuple(fc.boolean(), fc.array(conforming(doc, itemSchema(p), hints, p.name, 0), { minLength: 1, maxLength: 2 }))
          .map(([present, values]) =>
            p.required || present
              ? values.slice(0, p.schema.type === 'array' ? 2 : 1).map((v) => `${p.name}=${encodeURIComponent(text(v))}`)
              : [],
          ),
      ),
    )
    .map((ps) => ps.flat().join('&'));
  const mangled = fc
    .tuple(
      fc.tuple(
        ...params.map((p) =>
          fc
            .tuple(fc.integer({ min: 0, max: 9 }), fc.array(valueFor(doc, itemSchema(p), hints, p.name), { minLength: 2, maxLength: 3 }))
            .chain(([roll, values]) => {
              // Mostly once; sometimes left out (required or not), repeated, named in capitals, or given with no value.
              const count = roll === 0 ? 0 : roll === 1 || p.schema.type === 'array' ? values.length : 1;
              const name = roll === 2 ? p.name.toUpperCase() : p.name;
              if (roll === 3) return fc.constant<string[]>([`${name}=`, name]);
              return fc
                .tuple(...values.slice(0, count).map((v) => encoded(text(v))))
                .map((vs) => vs.map((v) => `${encodeURIComponent(name)}=${v}`));
            }),
        ),
      ),
      fc.array(fc.constantFrom('x=1', 'debug=true', 'callback=alert', '&&', '=', 'a[b]=c', `pad=${'p'.repeat(2000)}`), { maxLength: 2 }),
      fc.boolean(),
    )
    .map(([ps, extra, reverse]) => {
      const all = [...ps.flat(), ...extra];
      if (reverse) all.reverse();
      return all.join('&');
    });
  return fc.oneof(documented, mangled);
}

function bodyFor(doc: OpenApiDocument, op: OpenApiOperation | undefined, hints: Hints): fc.Arbitrary<Buffer> {
  const schema = op?.requestBody?.content['application/json']?.schema;
  const json = schema === undefined ? fc.jsonValue({ maxDepth: 3 }) : valueFor(doc, schema, hints);
  return fc.oneof(
    { arbitrary: json.map((v) => Buffer.from(JSON.stringify(v) ?? '')), weight: 8 },
    { arbitrary: fc.constant(Buffer.alloc(0)), weight: 1 },
    { arbitrary: fc.string({ maxLength: 60 }).map((s) => Buffer.from(s)), weight: 1 },
    { arbitrary: fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b)), weight: 1 },
    { arbitrary: json.map((v) => Buffer.from((JSON.stringify(v) ?? '').slice(0, -1))), weight: 1 },
    { arbitrary: fc.constant(Buffer.from(`${'['.repeat(5000)}${']'.repeat(5000)}`)), weight: 1 },
  );
}

const headerName = fc.constantFrom(
  'x-anything',
  'traceparent',
  'tracestate',
  'accept',
  'accept-encoding',
  'cookie',
  'authorization',
  'origin',
  'expect',
  'x-forwarded-for',
  'range',
  'if-none-match',
);
const headerValue = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 }),
  fc.constantFrom('100-continue', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', '00-zz-zz-zz', 'gzip, br', '*/*', 'bytes=0-1'),
);

/**
 * Requests built from an OpenAPI document: mostly its operations with
 * generated parameters and bodies (valid, nearly valid and not at all),
 * content types and headers; then its paths with other methods, and paths it
 * does not have.
 */
export function requestsFrom(doc: OpenApiDocument, hints: Hints = {}): fc.Arbitrary<FuzzRequest> {
  const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ path, method: method.toUpperCase(), op })),
  );
  const headers = fc.tuple(
    fc.option(fc.oneof({ arbitrary: fc.constant('application/json'), weight: 3 }, fc.constantFrom(...CONTENT_TYPES)), { freq: 8 }),
    fc.dictionary(headerName, headerValue, { maxKeys: 2 }),
  );
  // The API's own operations far more often than /health and the like.
  const operation = fc.oneof(
    ...operations.map((o) => ({
      arbitrary: fc.constant(o),
      weight: o.op.parameters !== undefined || o.op.requestBody !== undefined ? 10 : 1,
    })),
  );
  const documented = operation.chain(({ path, method, op }) => {
    const pathParams = (op.parameters ?? []).filter((p) => p.in === 'path');
    const values = fc.tuple(
      ...pathParams.map((p) => valueFor(doc, p.schema, hints, p.name).map((v) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? '')))),
    );
    return fc
      .record({
        values,
        encodings: fc.tuple(...pathParams.map(() => fc.integer({ min: 0, max: 7 }))),
        query: queryFor(doc, op, hints),
        method: fc.oneof({ arbitrary: fc.constant(method), weight: 8 }, { arbitrary: fc.constantFrom(...METHODS), weight: 1 }),
        body: bodyFor(doc, op, hints),
        headers,
      })
      .chain((r) =>
        fc
          .tuple(...r.values.map((v, i) => ((r.encodings[i] ?? 0) < 6 ? fc.constant(encodeURIComponent(v)) : encoded(v))))
          .map((encodedValues) => {
            let target = path;
            const pathValues: Record<string, string> = {};
            pathParams.forEach((p, i) => {
              target = target.replace(`{${p.name}}`, encodedValues[i] ?? '');
              pathValues[p.name] = r.values[i] ?? '';
            });
            const [contentType, extra] = r.headers;
            const request: FuzzRequest = {
              method: r.method,
              target: r.query.length > 0 ? `${target}?${r.query}` : target,
              headers: { ...extra, ...(contentType === null ? {} : { 'content-type': contentType }) },
              body: r.body,
              operation: { path, method: r.method, query: r.query, pathValues },
            };
            return request;
          }),
      );
  });
  const elsewhere = fc
    .record({
      path: fc.oneof(
        fc.webPath(),
        fc.constantFrom(...operations.map((o) => o.path)).chain((p) => mutated(p)),
        fc.constantFrom(
          '/',
          '//user_tags',
          '/user_tags/',
          '/USER_TAGS',
          '/user_profiles',
          '/user_profiles/',
          '/aggregates/x',
          '/%2e%2e/etc/passwd',
          '/*',
          '*',
        ),
      ),
      method: fc.constantFrom(...METHODS),
      body: bodyFor(doc, undefined, hints),
      headers,
    })
    .map(({ path, method, body, headers: [contentType, extra] }) => ({
      method,
      target: path.length > 0 ? path : '/',
      headers: { ...extra, ...(contentType === null ? {} : { 'content-type': contentType }) },
      body,
    }));
  return fc.oneof({ arbitrary: documented, weight: 8 }, { arbitrary: elsewhere, weight: 2 }).map(printable);
}

/** How a request shows in a failure report: the body as text and cut short, not as a list of byte values. */
function describe(request: FuzzRequest): string {
  const body = request.body.toString('utf8');
  return `${request.method} ${request.target.slice(0, 300)} ${JSON.stringify(request.headers)} body(${request.body.length} bytes) ${JSON.stringify(body.length > 300 ? `${body.slice(0, 300)}...` : body)}`;
}

function printable(request: FuzzRequest): FuzzRequest {
  return Object.defineProperty(request, fc.toStringMethod, { value: () => describe(request), enumerable: false });
}

/** Sends a generated request as raw bytes on its own connection (`Connection: close`), so nothing a client library would refuse is filtered out. */
export function sendRequest(baseUrl: string, request: FuzzRequest, timeoutMs = 15_000): Promise<RawAnswer> {
  const head = [`${request.method} ${request.target} HTTP/1.1`, `host: ${new URL(baseUrl).host}`, 'connection: close'];
  for (const [name, value] of Object.entries(request.headers)) head.push(`${name}: ${value}`);
  if (request.body.length > 0 || request.method === 'POST') head.push(`content-length: ${request.body.length}`);
  return rawRequest(baseUrl, Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'), request.body]), timeoutMs);
}

/**
 * What every answer must be: an answer at all (no hang, no dropped
 * connection), never a 5xx, and every refusal a 4xx problem body whose
 * `status` is the answer's.
 */
export function assertWellFormedAnswer(request: FuzzRequest, answer: RawAnswer): void {
  const what = `${request.method} ${request.target.slice(0, 200)}`;
  assert.notEqual(answer.status, undefined, `${what}: no answer`);
  const status = answer.status as number;
  assert.ok(status < 500, `${what}: ${status} ${answer.body.slice(0, 300)}`);
  if (status >= 400) {
    assert.equal(answer.headers['content-type'], 'application/problem+json', `${what}: ${status} without a problem body`);
    if (request.method !== 'HEAD') {
      const problem = ProblemBody.parse(JSON.parse(answer.body));
      assert.equal(problem.status, status, what);
    }
  }
}
