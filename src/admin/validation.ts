import type { z } from 'zod';
import { ApiError, type FieldError } from './api-error.js';

/**
 * Validates input at the edge (API body, CLI flags) and turns every zod issue into a
 * field error, so a 422 names each field at fault and nothing reaches the store.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const errors: FieldError[] = result.error.issues.map((issue) => ({
    field: issue.path.length > 0 ? issue.path.map(String).join('.') : 'body',
    message: issue.message,
  }));
  const first = errors[0]!;
  throw new ApiError(422, `${first.field}: ${first.message}`, errors);
}
