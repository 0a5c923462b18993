/**
 * Strict parsers for values typed on the command line. They accept only the plain decimal
 * spelling, so `1e3`, `0x10`, ` 5` and `3.0` are errors rather than surprises.
 */
import { inputError } from './errors.js';

const NON_NEGATIVE_INT = /^\d+$/;
const INT = /^-?\d+$/;
const NON_NEGATIVE_NUMBER = /^\d+(\.\d+)?$/;

export function parseNonNegativeInt(text: string, what: string): number {
  const value = Number(text);
  if (!NON_NEGATIVE_INT.test(text) || !Number.isSafeInteger(value)) {
    throw inputError(`${what} must be a whole number from 0 up, got "${text}"`);
  }
  return value;
}

export function parseInt(text: string, what: string): number {
  const value = Number(text);
  if (!INT.test(text) || !Number.isSafeInteger(value)) {
    throw inputError(`${what} must be a whole number, got "${text}"`);
  }
  return value;
}

export function parseNonNegativeNumber(text: string, what: string): number {
  const value = Number(text);
  if (!NON_NEGATIVE_NUMBER.test(text) || !Number.isFinite(value)) {
    throw inputError(`${what} must be a number from 0 up, got "${text}"`);
  }
  return value;
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * The one duration syntax of every option and setting: `90`, `1.5`, `500ms`, `90s`, `5m`, `2h`,
 * `1d` → milliseconds (whole). A bare number is in `bareUnit`: seconds, except for the few
 * settings whose unit has always been milliseconds.
 */
export function parseDurationMs(text: string, what: string, bareUnit: 's' | 'ms' = 's'): number {
  const match = DURATION.exec(text);
  if (!match) {
    throw inputError(`${what} must be a duration such as 90, 1.5, 500ms, 90s, 5m, 2h or 1d, got "${text}"`);
  }
  const unit = (match[2] ?? bareUnit) as keyof typeof UNIT_MS;
  const ms = Math.round(Number(match[1]) * UNIT_MS[unit]);
  // 0 means "none" for a timeout: a tiny duration must not round to it.
  if (ms === 0 && Number(match[1]) > 0) throw inputError(`${what} must be 0 or at least 1 ms, got "${text}"`);
  return ms;
}

const ISO_DATE_TIME =
  /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** An ISO-8601 date or date-time (no zone = local time) → normalized UTC ISO string. */
export function parseIsoTimestamp(text: string, what: string): string {
  const time = ISO_DATE_TIME.test(text) && isRealDate(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(time)) {
    throw inputError(`${what} must be an ISO-8601 time such as 2026-11-23T10:30:00Z, got "${text}"`);
  }
  return new Date(time).toISOString();
}

/** Date.parse rolls 2026-02-30 over into March; a person who typed it made a mistake. */
function isRealDate(text: string): boolean {
  const [year, month, day] = text.slice(0, 10).split('-').map(Number) as [number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}
