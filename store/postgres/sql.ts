/**
 * Values written into SQL text, for statements sent several at a time: the simple query
 * protocol carries many statements in one round trip but no parameters, so their values go in
 * as literals. Every string is quoted by pg's own escapeLiteral (which doubles quotes and, where
 * there are backslashes, writes an E'' string), so no value can end its literal early.
 */
import pg from './pg.js';

/** A text value, or NULL. */
export function text(value: string | null | undefined): string {
  return value === null || value === undefined ? 'NULL' : pg.escapeLiteral(value);
}

/** A text[] value. */
export function textArray(values: readonly string[]): string {
  return values.length === 0 ? `'{}'::text[]` : `ARRAY[${values.map((value) => pg.escapeLiteral(value)).join(', ')}]::text[]`;
}

/** A text[] value, or NULL. */
export function textArrayOrNull(values: readonly string[] | null | undefined): string {
  return values === null || values === undefined ? 'NULL::text[]' : textArray(values);
}

/** A jsonb value. */
export function jsonb(value: unknown): string {
  return `${pg.escapeLiteral(JSON.stringify(value))}::jsonb`;
}

/** A whole number. */
export function integer(value: number): string {
  if (!Number.isSafeInteger(value)) throw new RangeError(`not a whole number: ${value}`);
  return String(value);
}
