/**
 * The first place where an expected JSON value and an answer differ, as a
 * short readable path and the two values, or undefined when they are equal.
 * Used by the query API's debug mode (it logs this) and by the tester (it
 * reports it), so both describe a difference the same way.
 *
 * @example firstDifference({ rows: [['a', '1']] }, { rows: [['a', '2']] }) // 'rows[0][1]: expected "1", got "2"'
 */
export function firstDifference(expected: unknown, actual: unknown, path = ''): string | undefined {
  if (expected === actual) return undefined;
  const here = path === '' ? '(answer)' : path;
  if (Array.isArray(expected) && Array.isArray(actual)) {
    const n = Math.min(expected.length, actual.length);
    for (let i = 0; i < n; i++) {
      const d = firstDifference(expected[i], actual[i], `${path}[${i}]`);
      if (d !== undefined) return d;
    }
    return expected.length === actual.length ? undefined : `${here}: expected ${expected.length} items, got ${actual.length}`;
  }
  if (isObject(expected) && isObject(actual)) {
    const at = (key: string) => (path === '' ? key : `${path}.${key}`);
    for (const key of Object.keys(expected)) {
      if (!Object.hasOwn(actual, key)) return `${at(key)}: missing in the answer`;
      const d = firstDifference(expected[key], actual[key], at(key));
      if (d !== undefined) return d;
    }
    for (const key of Object.keys(actual)) {
      if (!Object.hasOwn(expected, key)) return `${at(key)}: not in the expected answer`;
    }
    return undefined;
  }
  return `${here}: expected ${short(expected)}, got ${short(actual)}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function short(v: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    // Nested deeper than JSON.stringify's stack allows (a fuzz test sent 5,000 levels): too deep to show.
    text = Array.isArray(v) ? '[...]' : '{...}';
  }
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}
