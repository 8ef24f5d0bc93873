import type { z } from 'zod';

/**
 * Parses the environment with a program's zod schema, once, at start. Throws
 * an Error whose message names each bad variable; the result is frozen.
 */
export function loadEnvConfig<S extends z.ZodType>(schema: S, env: Readonly<Record<string, string | undefined>>): Readonly<z.output<S>> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid configuration:\n${lines.join('\n')}`);
  }
  return Object.freeze(parsed.data) as Readonly<z.output<S>>;
}
