import type { z } from 'zod';
import { ContractError, type ErrorCode, type FieldIssue } from './errors.ts';
import { UserTag } from './user-tag.ts';

/** The outcome of validating input at a boundary: a typed value or a typed error, never a throw. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: ContractError };

function pathOf(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(body)' : path.map(String).join('.');
}

/** Turns zod issues into one readable issue per bad field (unknown keys each get their own). */
export function toFieldIssues(error: z.ZodError): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) issues.push({ field: pathOf([...issue.path, key]), message: 'is not a field of this schema' });
    } else if ('input' in issue && issue.input === undefined) {
      issues.push({ field: pathOf(issue.path), message: 'is required' });
    } else {
      issues.push({ field: pathOf(issue.path), message: issue.message });
    }
  }
  return issues;
}

/** Runs a zod schema and wraps a failure as a `ContractError` naming every bad field. */
export function validate<S extends z.ZodType>(schema: S, input: unknown, code: ErrorCode, what: string): Result<z.output<S>> {
  // reportInput lets a missing field (input undefined) be told apart from a wrong one.
  const parsed = schema.safeParse(input, { reportInput: true });
  if (parsed.success) return { ok: true, value: parsed.data };
  const issues = toFieldIssues(parsed.error);
  const fields = [...new Set(issues.map((i) => i.field))].join(', ');
  return { ok: false, error: new ContractError(code, `invalid ${what}: ${fields}`, { issues }) };
}

/** Validates a user tag as sent by a client. */
export function parseUserTag(input: unknown): Result<UserTag> {
  return validate(UserTag, input, 'INVALID_EVENT', 'user tag');
}
