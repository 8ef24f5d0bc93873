import { z } from 'zod';
import './answers.ts'; // registers ProfileAnswer and AggregatesAnswer
import { ERROR_CODES, type ErrorCode } from './errors.ts';
import { QueryParams } from './queries.ts';
import './user-tag.ts'; // registers UserTag

/** OpenAPI 3.1 documents for both APIs, generated from the same zod schemas that validate requests. */

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

function schemaOf(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }) as JsonSchema;
  delete json.$schema;
  return json;
}

function problemResponse(description: string) {
  return { description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
}

const operational = {
  '/health': { get: { summary: 'Liveness', responses: { '200': { description: 'The process is alive.' } } } },
  '/ready': {
    get: {
      summary: 'Readiness: dependencies reachable',
      responses: { '200': { description: 'Ready.' }, '503': problemResponse('A dependency is unreachable.') },
    },
  },
  '/metrics': { get: { summary: 'Prometheus metrics', responses: { '200': { description: 'Text exposition format.' } } } },
  '/openapi.json': { get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1.' } } } },
};

/**
 * Components: every schema registered with an `id` (UserTag, ProfileAnswer,
 * AggregatesAnswer, Problem), with references between them as `$ref`s.
 */
function components(): Record<string, JsonSchema> {
  const { schemas } = z.toJSONSchema(z.globalRegistry, {
    io: 'input',
    target: 'draft-2020-12',
    unrepresentable: 'any',
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, JsonSchema> };
  for (const schema of Object.values(schemas)) delete schema.$schema;
  return schemas;
}

function document(title: string, paths: Record<string, unknown>, names: readonly string[]) {
  const all = components();
  const schemas: Record<string, JsonSchema> = {};
  for (const name of ['Problem', ...names]) schemas[name] = all[name] as JsonSchema;
  return {
    openapi: '3.1.0',
    info: { title, version: '1.0.0' },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths: { ...paths, ...operational } as Record<string, Record<string, unknown>>,
    components: { schemas },
  };
}

/** The command side: `POST /user_tags`. */
export function commandApiOpenApi() {
  return document(
    'User tags: command API',
    {
      '/user_tags': {
        post: {
          summary: 'Record a user tag',
          description: 'Answers 204 only once the event is durably appended to the event log.',
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/UserTag' } } } },
          responses: {
            '204': { description: 'Appended and acknowledged by all in-sync replicas.' },
            '400': problemResponse('Invalid tag; `errors` names every bad field.'),
            '413': problemResponse('Body larger than the limit.'),
            '415': problemResponse('Body is not application/json.'),
            '503': problemResponse('Event log unavailable or server saturated; not stored, retry after Retry-After.'),
          },
        },
      },
    },
    ['UserTag'],
  );
}

function param(name: string, where: 'query' | 'path', schema: z.ZodType, required: boolean, extra: JsonSchema = {}) {
  return { name, in: where, required, schema: schemaOf(schema), ...extra };
}

const debugBody = (ref: string) => ({
  required: false,
  description: 'Debug mode: the expected answer. The server still answers with its own result and records whether they match.',
  content: { 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } },
});

/** The query side: `/user_profiles/{cookie}` and `/aggregates`, each as GET and POST. */
export function queryApiOpenApi() {
  const profileParams = [
    param('cookie', 'path', z.string().min(1), true, { description: 'Percent-encoded cookie.' }),
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
  const profileOp = (method: string) => ({
    summary: `User profile (${method})`,
    parameters: profileParams,
    ...(method === 'POST' ? { requestBody: debugBody('ProfileAnswer') } : {}),
    responses: {
      '200': { description: 'Newest first.', content: { 'application/json': { schema: { $ref: '#/components/schemas/ProfileAnswer' } } } },
      '400': problemResponse('Invalid parameters.'),
    },
  });
  const aggregatesOp = (method: string) => ({
    summary: `Minute aggregates (${method})`,
    parameters: aggregateParams,
    ...(method === 'POST' ? { requestBody: debugBody('AggregatesAnswer') } : {}),
    responses: {
      '200': {
        description: 'One row per minute of the range; every value a string.',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/AggregatesAnswer' } } },
      },
      '400': problemResponse('Invalid parameters.'),
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
