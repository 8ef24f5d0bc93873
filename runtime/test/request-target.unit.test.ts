import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isJsonContentType } from '../src/json-body.ts';
import { splitTarget } from '../src/request-target.ts';

describe('a request target', () => {
  const cases: Array<[string, string, string]> = [
    ['/user_profiles/x?time_range=a', '/user_profiles/x', 'time_range=a'],
    ['/user_profiles/a%2Fb%3Fc?x=1?y', '/user_profiles/a%2Fb%3Fc', 'x=1?y'],
    ['/aggregates', '/aggregates', ''],
    ['http://evil.example/user_profiles/x?time_range=a', '/user_profiles/x', 'time_range=a'],
    ['HTTPS://user:pw@evil.example:8081/aggregates?a=1', '/aggregates', 'a=1'],
    ['http://evil.example', '/', ''],
    ['http://evil.example?x=1', '/', 'x=1'],
    ['//user_profiles/x', '//user_profiles/x', ''],
    ['/user_profiles/a#b?c=1', '/user_profiles/a', ''],
    ['/aggregates?a=1#frag', '/aggregates', 'a=1'],
  ];
  for (const [target, path, query] of cases) {
    it(`${target} has path ${path} and query ${JSON.stringify(query)}`, () => {
      assert.deepEqual(splitTarget(target), { path, query });
    });
  }
});

describe('a JSON content type', () => {
  for (const header of [
    'application/json',
    'APPLICATION/JSON',
    'application/vnd.usertags+json',
    'application/json; charset=utf-8',
    'application/json;charset=UTF8',
    'application/json; CHARSET="Utf-8"',
    'application/json; v=1; charset=utf-8',
    'application/json; note="a;charset=latin1"',
    'application/json; charset',
  ]) {
    it(`accepts ${header}`, () => assert.ok(isJsonContentType(header)));
  }
  for (const header of [
    undefined,
    'text/plain',
    'application/json; charset=iso-8859-1',
    'application/json; charset="latin1"',
    'application/json; charset=utf-16',
    'application/json; charset=',
    'application/json; charset=utf-8; charset=us-ascii',
  ]) {
    it(`refuses ${header}`, () => assert.ok(!isJsonContentType(header)));
  }
});
