/**
 * Strict parsers for values typed on the command line. They accept only the plain decimal
 * spelling, so `1e3`, `0x10`, ` 5` and `3.0` are errors rather than surprises.
 */
import { inputError } from './errors.js';
import type { JobState } from './job.js';

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

export function parseInteger(text: string, what: string): number {
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
/** Milliseconds per unit of the duration syntax. */
export const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * The one duration syntax of every option and setting: `90`, `1.5`, `500ms`, `90s`, `5m`, `2h`,
 * `1d` → milliseconds (whole). A bare number is in `bareUnit`: seconds, except for the few
 * settings whose unit has always been another (milliseconds, days).
 */
export function parseDurationMs(text: string, what: string, bareUnit: 'ms' | 's' | 'd' = 's'): number {
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

const SIZE = /^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$/i;
const SIZE_BYTES: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/**
 * An amount of data → whole bytes: `65536`, `64k`, `1.5M`, `1G`; the units are powers of 1024,
 * however spelled (`k`, `kb`, `KiB`), as `ls -h` and `du -h` show them.
 */
export function parseSizeBytes(text: string, what: string): number {
  const match = SIZE.exec(text);
  const unit = (match?.[2] ?? 'b').toLowerCase()[0]!;
  const bytes = match ? Math.round(Number(match[1]) * SIZE_BYTES[unit]!) : NaN;
  if (!match || !Number.isSafeInteger(bytes)) throw inputError(`${what} must be a size such as 65536, 64k, 1M or 1G, got "${text}"`);
  return bytes;
}

/** A date, a date and time (`T` or a space between), seconds and a zone optional. */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
/** A time of day: `14:00`, `14:00:30`, `11:30pm`, `9pm`, `9 am`. */
const TIME_OF_DAY = /^(\d{1,2})(?::(\d{2})(?::(\d{2}))?)?\s*([ap]m)?$/i;

/**
 * When to run, as people type it → a UTC ISO string. An ISO-8601 time with a zone is that
 * instant; a date or date-time without one is local time (`2026-04-02 14:00`); a time of day
 * alone (`14:00`, `11:30pm`) is the next such time from `now`, today or tomorrow.
 */
export function parseRunAt(text: string, what: string, now: Date): string {
  const time = parseLocalOrIso(text.trim()) ?? nextTimeOfDay(text.trim(), now);
  if (time === null) {
    throw inputError(
      `${what} must be a time such as 2026-11-23T10:30:00Z, 2026-11-23 10:30 (local), 14:00 or 11:30pm, got "${text}"`,
    );
  }
  return new Date(time).toISOString();
}

/** The last text read as a date and what it gave: the lines of a batch often share their `run_at`. */
let lastDate: { text: string; time: number | null } | undefined;

function parseLocalOrIso(text: string): number | null {
  if (lastDate?.text !== text) lastDate = { text, time: readLocalOrIso(text) };
  return lastDate.time;
}

function readLocalOrIso(text: string): number | null {
  const match = DATE_TIME.exec(text);
  if (!match) return null;
  const [, year, month, day, hour = '0', minute = '0', second = '0', fraction = '', zone] = match;
  const [y, mo, d, h, mi, s] = [year, month, day, hour, minute, second].map(Number) as [number, number, number, number, number, number];
  const ms = fraction === '' ? 0 : Math.floor(Number(`0${fraction}`) * 1000);
  if (mo < 1 || mo > 12 || h > 23 || mi > 59 || s > 59) return null;
  // Built from its parts: Date.parse would roll 2026-02-30 over into March, and reads a date alone as UTC.
  const local = new Date(y, mo - 1, d, h, mi, s, ms);
  if (local.getMonth() !== mo - 1 || local.getDate() !== d) return null;
  if (zone === undefined) return local.getTime();
  const utc = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  if (zone === 'Z') return utc;
  const sign = zone.startsWith('-') ? -1 : 1;
  const [zh, zm] = [Number(zone.slice(1, 3)), Number(zone.slice(-2))];
  if (zh > 23 || zm > 59) return null; // no clock is 25 hours ahead: a typo, as Date reads it too
  return utc - sign * (zh * 60 + zm) * 60_000;
}

function nextTimeOfDay(text: string, now: Date): number | null {
  const match = TIME_OF_DAY.exec(text);
  if (!match || (match[2] === undefined && match[4] === undefined)) return null; // a bare "14" is not a time
  let hour = Number(match[1]);
  const minute = Number(match[2] ?? 0);
  const second = Number(match[3] ?? 0);
  const half = match[4]?.toLowerCase();
  if (half !== undefined) {
    if (hour < 1 || hour > 12) return null;
    hour = (hour % 12) + (half === 'pm' ? 12 : 0);
  }
  if (hour > 23 || minute > 59 || second > 59) return null;
  const at = new Date(now.getFullYear(), now.getMonth(), now.getDate(), hour, minute, second);
  if (at.getTime() <= now.getTime()) at.setDate(at.getDate() + 1);
  return at.getTime();
}

/**
 * `--state a,b` → the distinct states named, in the order given. Each must be one of `allowed`;
 * `refusal(state)` is the one-line error for any other word.
 */
export function parseStateList<S extends JobState>(text: string, allowed: readonly S[], refusal: (state: string) => string): S[] {
  const states = text.split(',').map((state) => state.trim());
  const refused = states.find((state) => !(allowed as readonly string[]).includes(state));
  if (refused !== undefined) throw inputError(refusal(refused));
  return [...new Set(states)] as S[];
}
