import { z } from 'zod';
import './answers.ts'; // registers ProfileAnswer and AggregatesAnswer
import { ERROR_CODES, type ErrorCode } from './errors.ts';
import { QueryParams } from './queries.ts';
import { MAX_TEXT_CODE_POINTS } from './text.ts';
import './user-tag.ts'; // registers UserTag

/**
 * OpenAPI 3.1 documents for both APIs, generated from the same zod schemas
 * that validate requests. They are meant to be tested against
 * (`./run.sh test:api` runs schemathesis on them): every pattern admits
 * exactly what the parsers accept (contracts/src/patterns.ts), and every
 * answer a server can give is declared. What a schema cannot say (a range's
 * end after its start, its length) is written in descriptions and answered 400.
 */

/** The shape of every error answer; registered as the `Problem` component. */
export const ProblemBody = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details.' });

type JsonSchema = Record<string, unknown>;

const SCHEMAS = '#/components/schemas/';
const RESPONSES = '#/components/responses/';

function schemaOf(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }) as JsonSchema;
  delete json.$schema;
  return json;
}

/**
 * Components: every schema registered with an `id` (UserTag, ProfileAnswer,
 * AggregatesAnswer, Problem), with references between them as `$ref`s. zod
 * names each one with an `$id` of the same URI, which 2020-12 does not allow
 * as a fragment; the `$ref`s resolve against the document without it.
 */
function componentSchemas(): Record<string, JsonSchema> {
  const { schemas } = z.toJSONSchema(z.globalRegistry, {
    io: 'input',
    target: 'draft-2020-12',
    unrepresentable: 'any',
    uri: (id) => `${SCHEMAS}${id}`,
  }) as { schemas: Record<string, JsonSchema> };
  for (const schema of Object.values(schemas)) {
    delete schema.$schema;
    delete schema.$id;
  }
  return schemas;
}

/** Every problem answer the programs give, by status, as `components.responses`. */
const PROBLEM_ANSWERS = {
  BadRequest: { status: 400, description: 'Invalid request.' },
  NotFound: { status: 404, description: 'No such path. Every path the document does not list is answered so.' },
  MethodNotAllowed: {
    status: 405,
    description: 'A listed path with a method it does not list; `Allow` names the ones it has.',
  },
  RequestTimeout: {
    status: 408,
    description:
      'The headers or the whole request took too long (HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS); the connection is closed.',
  },
  ContentTooLarge: { status: 413, description: 'The body (or a chunk extension) is larger than the server accepts.' },
  UnsupportedMediaType: { status: 415, description: 'The body is not of a media type the operation accepts.' },
  ExpectationFailed: { status: 417, description: 'An `Expect` header other than `100-continue`.' },
  HeaderFieldsTooLarge: { status: 431, description: 'The request line and headers are over 16 KiB.' },
  ServiceUnavailable: {
    status: 503,
    description: 'Not done: a dependency is unavailable, the server is saturated or shutting down. Retry after `Retry-After` seconds.',
  },
} as const;
type ProblemAnswer = keyof typeof PROBLEM_ANSWERS;

function problemResponses(): Record<string, unknown> {
  const responses: Record<string, unknown> = {};
  for (const [name, { status, description }] of Object.entries(PROBLEM_ANSWERS)) {
    const codes = Object.entries(ERROR_CODES)
      .filter(([, spec]) => spec.status === status)
      .map(([code]) => code);
    const headers: Record<string, unknown> = {};
    if (status === 503) {
      headers['Retry-After'] = {
        required: true,
        description: 'Seconds to wait before retrying.',
        schema: { type: 'string', pattern: '^[0-9]+$' },
      };
    }
    if (status === 405) {
      headers.Allow = { required: true, description: 'The methods the path has.', schema: { type: 'string', minLength: 1 } };
    }
    responses[name] = {
      description,
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      content: {
        'application/problem+json': {
          schema: {
            allOf: [{ $ref: `${SCHEMAS}Problem` }, { type: 'object', properties: { status: { const: status }, code: { enum: codes } } }],
          },
        },
      },
    };
  }
  return responses;
}

/** A reference to a problem answer, with a description of when this operation gives it. */
function problem(name: ProblemAnswer, description?: string) {
  return { $ref: `${RESPONSES}${name}`, ...(description === undefined ? {} : { description }) };
}

/** What any request may get before a handler sees it: not HTTP/1.1 (400), too slow, too large, an unsupported Expect. */
function transportAnswers(badRequest = 'The request is not valid HTTP/1.1 (or has no Host header).') {
  return {
    '400': problem('BadRequest', badRequest),
    '408': problem('RequestTimeout'),
    '413': problem('ContentTooLarge'),
    '417': problem('ExpectationFailed'),
    '431': problem('HeaderFieldsTooLarge'),
  };
}

const json = (schema: JsonSchema) => ({ 'application/json': { schema } });

const operational = {
  '/health': {
    get: {
      operationId: 'health',
      summary: 'Liveness',
      responses: {
        '200': {
          description: 'The process is alive.',
          content: json({ type: 'object', properties: { status: { const: 'ok' } }, required: ['status'] }),
        },
        ...transportAnswers(),
      },
    },
  },
  '/ready': {
    get: {
      operationId: 'ready',
      summary: 'Readiness: dependencies reachable',
      responses: {
        '200': {
          description: 'Ready.',
          content: json({ type: 'object', properties: { status: { const: 'ready' } }, required: ['status'] }),
        },
        ...transportAnswers(),
        '503': problem('ServiceUnavailable', 'A dependency is unreachable.'),
      },
    },
  },
  '/metrics': {
    get: {
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      responses: {
        '200': { description: 'Text exposition format.', content: { 'text/plain': { schema: { type: 'string' } } } },
        ...transportAnswers(),
      },
    },
  },
  '/openapi.json': {
    get: {
      operationId: 'openapi',
      summary: 'This document',
      responses: { '200': { description: 'OpenAPI 3.1.', content: json({ type: 'object' }) }, ...transportAnswers() },
    },
  },
};

const GENERAL = [
  'Every refusal is an RFC 9457 problem (`application/problem+json`) with a stable `code`.',
  'A path the document does not list is answered 404 (`NotFound`); a listed path with another method 405 with `Allow` (`MethodNotAllowed`).',
  'Every 503 carries `Retry-After`.',
].join(' ');

function document(title: string, paths: Record<string, unknown>, names: readonly string[]) {
  const all = componentSchemas();
  const schemas: Record<string, JsonSchema> = {};
  for (const name of ['Problem', ...names]) schemas[name] = all[name] as JsonSchema;
  return {
    openapi: '3.1.0',
    info: { title, version: '1.0.0', description: GENERAL },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths: { ...paths, ...operational } as Record<string, Record<string, unknown>>,
    components: { schemas, responses: problemResponses() },
  };
}

const EXAMPLE_TAG = {
  time: '2022-03-22T12:15:00.000Z',
  cookie: 'cookie-1',
  country: 'PL',
  device: 'PC',
  action: 'VIEW',
  origin: 'origin-1',
  product_info: { product_id: 'product-1', brand_id: 'brand-1', category_id: 'category-1', price: 1000 },
};

/** The command side: `POST /user_tags`. */
export function commandApiOpenApi() {
  return document(
    'User tags: command API',
    {
      '/user_tags': {
        post: {
          operationId: 'recordUserTag',
          summary: 'Record a user tag',
          description: 'Answers 204 only once the event is durably appended to the event log.',
          requestBody: {
            required: true,
            description: `One user tag as UTF-8 JSON. Each string field is at most ${MAX_TEXT_CODE_POINTS} code points.`,
            content: {
              'application/json': {
                schema: { $ref: `${SCHEMAS}UserTag` },
                examples: {
                  view: { summary: 'A VIEW, product_id a string', value: EXAMPLE_TAG },
                  buy: {
                    summary: 'A BUY, product_id a number, time without fraction',
                    value: {
                      ...EXAMPLE_TAG,
                      time: '2022-03-22T12:15:01Z',
                      action: 'BUY',
                      product_info: { ...EXAMPLE_TAG.product_info, product_id: 42 },
                    },
                  },
                },
              },
            },
          },
          responses: {
            '204': { description: 'Appended and acknowledged by all in-sync replicas.' },
            ...transportAnswers(
              'Invalid tag (`errors` names every bad field), a body that is not JSON or not valid UTF-8 (lone surrogates included), or not valid HTTP/1.1.',
            ),
            '413': problem('ContentTooLarge', 'Body larger than BODY_LIMIT_BYTES (64 KiB).'),
            '415': problem(
              'UnsupportedMediaType',
              'The body is not `application/json` (or `application/*+json`), or its charset is not UTF-8.',
            ),
            '503': problem('ServiceUnavailable', 'Event log unavailable, too many tags pending, or shutting down; not stored.'),
          },
        },
      },
    },
    ['UserTag'],
  );
}

function param(name: string, where: 'query' | 'path', schema: z.ZodType | JsonSchema, required: boolean, extra: JsonSchema = {}) {
  return { name, in: where, required, schema: schema instanceof z.ZodType ? schemaOf(schema) : schema, ...extra };
}

/**
 * Debug mode (spec §3.4): the expected answer. Any body is taken: it is not
 * validated, only compared, and one that is not JSON counts as a mismatch.
 */
const debugBody = (answer: string) => ({
  required: false,
  description: `Debug mode: the expected answer (a ${answer}), or nothing. Any body is accepted, JSON or not; the server answers with its own result and counts whether the two match. An empty body means no check.`,
  content: json({ description: 'Any JSON value.' }),
});

/** The query side: `/user_profiles/{cookie}` and `/aggregates`, each as GET and POST. */
export function queryApiOpenApi() {
  const profileParams = [
    param('cookie', 'path', { type: 'string', minLength: 1, maxLength: MAX_TEXT_CODE_POINTS, examples: ['cookie-1'] }, true, {
      description: `The cookie, percent-encoded UTF-8 (it may contain \`/\`, \`?\`, \`%\`); at most ${MAX_TEXT_CODE_POINTS} code points once decoded.`,
    }),
    param('time_range', 'query', QueryParams.profileTimeRange, true),
    param('limit', 'query', QueryParams.limit, false),
  ];
  const aggregateParams = [
    param('time_range', 'query', QueryParams.aggregatesTimeRange, true),
    param('action', 'query', QueryParams.action, true),
    param('aggregates', 'query', QueryParams.aggregates, true, { style: 'form', explode: true }),
    param('origin', 'query', QueryParams.filter, false),
    param('brand_id', 'query', QueryParams.filter, false),
    param('category_id', 'query', QueryParams.filter, false),
  ];
  // A debug body is read whatever its media type or charset: no 415 here.
  const queryAnswers = (badRequest: string) => ({
    ...transportAnswers(badRequest),
    '503': problem('ServiceUnavailable', 'The read model is unavailable, or the server is shutting down.'),
  });
  const profileOp = (method: string) => ({
    operationId: `${method.toLowerCase()}UserProfile`,
    summary: `User profile (${method})`,
    parameters: profileParams,
    ...(method === 'POST' ? { requestBody: debugBody('ProfileAnswer') } : {}),
    responses: {
      '200': { description: 'Newest first.', content: json({ $ref: `${SCHEMAS}ProfileAnswer` }) },
      ...queryAnswers(
        'Invalid parameters (`errors` names each): a range that does not parse or does not end after its start, a bad limit, a cookie that is not valid percent-encoded UTF-8, a repeated parameter.',
      ),
      '404': problem('NotFound', 'An empty cookie: `/user_profiles/` is no path of this API.'),
    },
  });
  const aggregatesOp = (method: string) => ({
    operationId: `${method.toLowerCase()}Aggregates`,
    summary: `Minute aggregates (${method})`,
    parameters: aggregateParams,
    ...(method === 'POST' ? { requestBody: debugBody('AggregatesAnswer') } : {}),
    responses: {
      '200': {
        description: 'One row per minute of the range; every value a string.',
        content: json({ $ref: `${SCHEMAS}AggregatesAnswer` }),
      },
      ...queryAnswers(
        'Invalid parameters (`errors` names each): a range that does not parse, does not end after its start, is longer than served or starts before the retention horizon, an unknown action or aggregate, a repeated parameter.',
      ),
    },
  });
  return document(
    'User tags: query API',
    {
      '/user_profiles/{cookie}': { get: profileOp('GET'), post: profileOp('POST') },
      '/aggregates': { get: aggregatesOp('GET'), post: aggregatesOp('POST') },
    },
    ['UserTag', 'ProfileAnswer', 'AggregatesAnswer'],
  );
}
