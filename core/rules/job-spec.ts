/**
 * What a caller may say about a new job, and the checks it must pass before anything is
 * written. Pure: the caller passes `now` and the defaults.
 */
import { resolve } from 'node:path';
import type { Config } from './config.js';
import { inputError, showValue } from './errors.js';
import { DEFAULT_QUEUE, isSafeId, type PendingJob } from './job.js';
import { parseDurationMs, parseRunAt } from './parse.js';

/** A new job as the caller describes it; what is left out takes the config default. */
export interface JobSpec {
  command: string;
  id?: string;
  max_retries?: number;
  priority?: number;
  /** ISO time before which the job does not run (one in the past means now). */
  run_at?: string;
  /** Or: milliseconds after the job enters the queue before it runs. */
  delay_ms?: number;
  /** Seconds (a fraction allowed); 0 or null = no limit. */
  timeout?: number | null;
  cwd?: string;
  /** Variables to set for the job's runs, over its environment. */
  env?: Record<string, string>;
  /** Jobs that must complete first (each once, in the order given). */
  after?: string[];
  /** The named queue; `default` when left out. */
  queue?: string;
}

const SPEC_KEYS = ['command', 'id', 'max_retries', 'priority', 'run_at', 'delay', 'timeout', 'cwd', 'env', 'after', 'queue'];

const ID_RULE = '1-128 characters of A-Z a-z 0-9 . _ - (not "." or "..")';

/** A name a shell can export: what `--env NAME=VALUE` and `"env"` may set. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Priorities fit a 32-bit integer, as a database column of them does (and pueue's). */
export const PRIORITY_RANGE = { min: -2_147_483_648, max: 2_147_483_647 } as const;

function wholeNumber(value: unknown, key: string, where: string, min: number | null, max: number | null = null): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || (min !== null && value < min) || (max !== null && value > max)) {
    const range = min === null ? 'a whole number' : max === null ? `a whole number from ${min} up` : `a whole number from ${min} to ${max}`;
    throw inputError(`${where}"${key}" must be ${range}, got ${showValue(value)}`);
  }
  return value;
}

/** A span of time: a number of seconds (from 0 up, fractions allowed), or a duration such as "5m". */
function seconds(value: unknown, key: string, where: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value === 'string') return parseDurationMs(value, `${where}"${key}"`) / 1000;
  throw inputError(`${where}"${key}" must be a number of seconds from 0 up or a duration such as "90s" or "5m", got ${showValue(value)}`);
}

/** `"env": {"NAME": "value"}`: names a shell can export, string values; QUEUECTL_* are queuectl's own. */
function envVariables(value: unknown, where: string): Record<string, string> {
  if (!isPlainObject(value)) throw inputError(`${where}"env" must be an object of variables such as {"NAME": "value"}, got ${showValue(value)}`);
  const env: Record<string, string> = {};
  for (const [name, variable] of Object.entries(value)) {
    if (!ENV_NAME.test(name)) throw inputError(`${where}"env": "${name}" is not a variable name (letters, digits and _, not first a digit)`);
    if (name.startsWith('QUEUECTL_')) throw inputError(`${where}"env": ${name} is set by queuectl for each run; choose another name`);
    if (typeof variable !== 'string' || variable.includes('\0')) {
      throw inputError(`${where}"env": ${name} must be a string (without NUL), got ${showValue(variable)}`);
    }
    const bytes = Buffer.byteLength(name) + 1 + Buffer.byteLength(variable);
    if (bytes > ARGUMENT_MAX_BYTES) {
      throw inputError(`${where}"env": ${name}=… is ${bytes.toLocaleString('en')} bytes; Linux limits a variable to ${ARGUMENT_MAX_BYTES.toLocaleString('en')} with its name`);
    }
    env[name] = variable;
  }
  return env;
}

/**
 * The longest string Linux passes to a new program as one argument or one variable
 * (MAX_ARG_STRLEN, 32 pages, less the string's NUL). Longer, the run could never start: each
 * attempt would fail with E2BIG. Checked on every host, as a queue may be run on others.
 */
const ARGUMENT_MAX_BYTES = 128 * 1024 - 1;

/**
 * `"after": ["a", "b"]` (a single id may be given as a string, a number as its digits, as for
 * `"id"`): each a possible job id, once; a job cannot wait for itself.
 */
function dependencyIds(value: unknown, id: string | undefined, where: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  const ids: string[] = [];
  for (const item of list) {
    const dependency = typeof item === 'number' && Number.isSafeInteger(item) && item >= 0 ? String(item) : item;
    if (typeof dependency !== 'string' || !isSafeId(dependency)) {
      throw inputError(`${where}"after" must list job ids (${ID_RULE}), got ${showValue(item)}`);
    }
    if (dependency === id) throw inputError(`${where}job "${id}" cannot run after itself`);
    if (!ids.includes(dependency)) ids.push(dependency);
  }
  return ids;
}

/** A queue name: the same rules as a job id. `what` names where it was given, e.g. `--queue`. */
export function queueName(value: unknown, what: string): string {
  if (typeof value !== 'string' || !isSafeId(value)) throw inputError(`${what} must be a queue name: ${ID_RULE}, got ${showValue(value)}`);
  return value;
}

function text(value: unknown, key: string, where: string): string {
  if (typeof value !== 'string') {
    throw inputError(`${where}"${key}" must be a string, got ${showValue(value)}`);
  }
  return value;
}

/**
 * Checks a parsed JSON value (from `enqueue '<json>'` or a line of `--file`) and returns the
 * spec it describes. `where` prefixes messages, e.g. `line 3: `. Unknown keys are errors, so a
 * typo such as `max_retry` is not silently ignored.
 */
export function validateJobSpec(input: unknown, where = '', now = new Date()): JobSpec {
  if (!isPlainObject(input)) {
    throw inputError(`${where}a job must be a JSON object such as {"command":"echo hi"}, got ${showValue(input)}`);
  }
  for (const key of Object.keys(input)) {
    if (!SPEC_KEYS.includes(key)) {
      throw inputError(`${where}unknown job field "${key}": expected ${SPEC_KEYS.join(', ')}`);
    }
  }
  if (input.command === undefined) throw inputError(`${where}"command" is missing`);
  const command = text(input.command, 'command', where);
  if (command.trim() === '') throw inputError(`${where}"command" is empty`);
  const commandBytes = Buffer.byteLength(command);
  if (commandBytes > ARGUMENT_MAX_BYTES) {
    throw inputError(
      `${where}"command" is ${commandBytes.toLocaleString('en')} bytes: a command runs as one argument of sh -c, which Linux limits to ${ARGUMENT_MAX_BYTES.toLocaleString('en')}; put it in a script and enqueue that`,
    );
  }

  const spec: JobSpec = { command };
  if (input.id !== undefined) {
    // A whole number is taken as its digits, as a user of `"id": 7` means "7".
    const id = typeof input.id === 'number' && Number.isSafeInteger(input.id) && input.id >= 0 ? String(input.id) : text(input.id, 'id', where);
    if (!isSafeId(id)) throw inputError(`${where}"id" must be ${ID_RULE}, got ${showValue(id)}`);
    spec.id = id;
  }
  if (input.after !== undefined) spec.after = dependencyIds(input.after, spec.id, where);
  if (input.queue !== undefined) spec.queue = queueName(input.queue, `${where}"queue"`);
  if (input.max_retries !== undefined) spec.max_retries = wholeNumber(input.max_retries, 'max_retries', where, 0);
  if (input.priority !== undefined) spec.priority = wholeNumber(input.priority, 'priority', where, PRIORITY_RANGE.min, PRIORITY_RANGE.max);
  if (input.timeout !== undefined && input.timeout !== null) {
    spec.timeout = seconds(input.timeout, 'timeout', where);
  } else if (input.timeout === null) {
    spec.timeout = null;
  }
  if (input.run_at !== undefined && input.delay !== undefined) {
    throw inputError(`${where}give "run_at" or "delay", not both`);
  }
  if (input.run_at !== undefined) {
    spec.run_at = parseRunAt(text(input.run_at, 'run_at', where), `${where}"run_at"`, now);
  }
  if (input.delay !== undefined) spec.delay_ms = seconds(input.delay, 'delay', where) * 1000;
  if (input.cwd !== undefined) {
    const cwd = text(input.cwd, 'cwd', where);
    if (cwd === '') throw inputError(`${where}"cwd" is empty`);
    spec.cwd = cwd;
  }
  if (input.env !== undefined) spec.env = envVariables(input.env, where);
  return spec;
}

/**
 * The pending job a checked spec becomes, with config defaults captured now, `now` being the
 * moment it enters the queue (a delay counts from then). A relative `spec.cwd` is taken from
 * `cwd`, the directory the caller enqueued from.
 */
export function newJob(
  spec: JobSpec,
  id: string,
  defaults: Pick<Config, 'max_retries' | 'job_timeout'>,
  cwd: string,
  now: Date,
  /** The id of the stored environment of the enqueue, if one was captured. */
  envId: string | null = null,
): PendingJob {
  const at = now.toISOString();
  const timeout = spec.timeout === undefined ? defaults.job_timeout : spec.timeout;
  return {
    id,
    command: spec.command,
    state: 'pending',
    attempts: 0,
    max_retries: spec.max_retries ?? defaults.max_retries,
    priority: spec.priority ?? 0,
    queue: spec.queue ?? DEFAULT_QUEUE,
    after: spec.after ?? [],
    // A time in the past means now: kept as given, it would go ahead of jobs that waited longer.
    run_at: spec.run_at !== undefined ? (spec.run_at > at ? spec.run_at : at) : spec.delay_ms === undefined ? at : new Date(now.getTime() + spec.delay_ms).toISOString(),
    timeout: timeout === null || timeout === 0 ? null : timeout,
    cwd: spec.cwd === undefined ? cwd : resolve(cwd, spec.cwd),
    env: spec.env === undefined || Object.keys(spec.env).length === 0 ? null : spec.env,
    env_id: envId,
    created_at: at,
    updated_at: at,
    started_at: null,
    finished_at: null,
    exit_code: null,
    last_error: null,
    lease: null,
  };
}
