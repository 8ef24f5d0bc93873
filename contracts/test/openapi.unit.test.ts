import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commandApiOpenApi, DEVICES, queryApiOpenApi } from '../src/index.ts';

describe('the OpenAPI documents', () => {
  it('describe the user tag from the same schema that validates it', () => {
    const doc = commandApiOpenApi();
    const tag = doc.components.schemas.UserTag as {
      required: string[];
      additionalProperties: boolean;
      properties: Record<string, { enum?: string[]; properties?: Record<string, unknown> }>;
    };
    assert.equal(doc.openapi, '3.1.0');
    assert.deepEqual([...tag.required].sort(), ['action', 'cookie', 'country', 'device', 'origin', 'product_info', 'time']);
    assert.equal(tag.additionalProperties, false);
    assert.deepEqual(tag.properties.device?.enum, [...DEVICES]);
    assert.ok(doc.paths['/user_tags']);
  });

  it('list both query endpoints with GET and POST', () => {
    const doc = queryApiOpenApi();
    for (const path of ['/user_profiles/{cookie}', '/aggregates'] as const) {
      assert.ok(doc.paths[path]?.get && doc.paths[path]?.post, path);
    }
    const profile = doc.components.schemas.ProfileAnswer as { properties: { views: { items: { $ref: string } } } };
    assert.equal(profile.properties.views.items.$ref, '#/components/schemas/UserTag');
  });
});
