/**
 * Settings: their names, defaults and allowed values. `config.json` holds only what a person
 * set; everything else takes the default below, so a newer default reaches old data dirs.
 */
import { inputError, QueuectlError, showValue } from './errors.js';
import { isSafeId } from './job.js';
import { parseDurationMs, parseNonNegativeInt, parseNonNegativeNumber, parseSizeBytes, UNIT_MS } from './parse.js';
import type { QueueTable } from './queues.js';

export interface Config {
  /** Retries after the first run, captured into each job at enqueue. @default 3 */
  max_retries: number;
  /** After the n-th failed run the retry waits `backoff_base ^ n` seconds. @default 2 */
  backoff_base: number;
  /** Upper bound of that wait, in seconds. @default 3600 */
  max_backoff: number;
  /** How often an idle worker looks for work, in milliseconds. @default 500 */
  poll_interval: number;
  /** Seconds a run may take, captured into each job at enqueue; 0 = no limit. @default 0 */
  job_timeout: number;
  /**
   * Seconds a claim holds without renewal. A worker renews it while the job runs, so only a
   * dead or frozen worker's job is taken back, this long after it stopped renewing. @default 30
   */
  lease: number;
  /** Finished jobs (completed and canceled) kept in the queue; older ones leave it. @default 1000 */
  retention: number;
  /** Whether jobs leaving the queue by retention go to `archive/` (true) or are deleted, logs and all. @default true */
  archive: boolean;
  /** Days an archive batch is kept, with the logs of its jobs; 0 = for ever. @default 30 */
  archive_days: number;
  /** No manager starts a new job (`queuectl pause`); running jobs go on. @default false */
  paused: boolean;
  /**
   * A job runs in the environment of the `enqueue` that made it (true), as pueue and nq do, or
   * in the worker's (false); its own `--env` variables apply either way. @default true
   */
  capture_env: boolean;
  /**
   * Bytes of each run's output that a store shared by hosts (PostgreSQL) keeps, for `logs` on
   * any host: the last ones, after a line saying how much was cut; 0 = all of it. The log file
   * of the host that ran the job keeps everything. @default 1048576 (1 MiB)
   */
  log_limit: number;
  /**
   * Settings of named queues, by name: `{"ffmpeg": {"parallel": 1, "paused": true}}`. Set with
   * `queuectl parallel N --queue NAME` and `queuectl pause --queue NAME`. @default {}
   */
  queues: QueueTable;
}

export type ConfigKey = keyof Config;

export const DEFAULT_CONFIG: Readonly<Config> = Object.freeze({
  max_retries: 3,
  backoff_base: 2,
  max_backoff: 3600,
  poll_interval: 500,
  job_timeout: 0,
  lease: 30,
  retention: 1000,
  archive: true,
  archive_days: 30,
  paused: false,
  capture_env: true,
  log_limit: 1024 * 1024,
  queues: Object.freeze({}),
});

export const CONFIG_KEYS = Object.keys(DEFAULT_CONFIG) as ConfigKey[];

/**
 * Settings of the data directory itself, whatever store holds the queue: `store`, the store the
 * commands use when neither `--store` nor QUEUECTL_STORE says (`config set store`). They live in
 * the data dir's config.json beside the file store's settings, and are not settings of a queue
 * (a copy does not carry them, a database does not hold them).
 */
export const LOCAL_CONFIG_KEYS = ['store'] as const;
export type LocalConfigKey = (typeof LOCAL_CONFIG_KEYS)[number];

export function isLocalConfigKey(name: string): name is LocalConfigKey {
  return (LOCAL_CONFIG_KEYS as readonly string[]).includes(name.replaceAll('-', '_'));
}

interface KeyRule {
  /** What the value must be, for error messages. */
  expected: string;
  fromText(text: string, what: string): Config[ConfigKey];
  isValid(value: unknown): boolean;
}

const wholeNumber = (min: number): KeyRule => ({
  expected: `a whole number from ${min} up`,
  fromText: (text, what) => {
    const value = parseNonNegativeInt(text, what);
    if (value < min) throw inputError(`${what} must be a whole number from ${min} up, got "${text}"`);
    return value;
  },
  isValid: (value) => Number.isSafeInteger(value) && (value as number) >= min,
});

const positiveNumber = (min: number): KeyRule => ({
  expected: `a number from ${min} up`,
  fromText: (text, what) => {
    const value = parseNonNegativeNumber(text, what);
    if (value < min) throw inputError(`${what} must be a number from ${min} up, got "${text}"`);
    return value;
  },
  isValid: (value) => typeof value === 'number' && Number.isFinite(value) && value >= min,
});

const UNIT_NAMES = { ms: 'milliseconds', s: 'seconds', d: 'days' } as const;

/** A span of time in `unit`, typed in the one duration syntax (a bare number in `unit`); fractions allowed. */
const duration = (unit: 'ms' | 's' | 'd', min: number): KeyRule => ({
  expected: `a duration from ${min} ${unit} up (a number of ${UNIT_NAMES[unit]})`,
  fromText: (text, what) => {
    const value = parseDurationMs(text, what, unit) / UNIT_MS[unit];
    if (value < min) throw inputError(`${what} must be a duration of at least ${min} ${unit}, got "${text}"`);
    return value;
  },
  isValid: (value) => typeof value === 'number' && Number.isFinite(value) && value >= min,
});

/** An amount of data in bytes, typed as `65536`, `64k`, `1M`…; 0 for no limit. */
const SIZE: KeyRule = {
  expected: 'a size in bytes from 0 up (65536, 64k, 1M)',
  fromText: (text, what) => parseSizeBytes(text, what),
  isValid: (value) => Number.isSafeInteger(value) && (value as number) >= 0,
};

const BOOLEAN: KeyRule = {
  expected: 'true or false',
  fromText: (text, what) => {
    if (text === 'true') return true;
    if (text === 'false') return false;
    throw inputError(`${what} must be true or false, got "${text}"`);
  },
  isValid: (value) => typeof value === 'boolean',
};

/** `queues`: an object of queue names to `{"parallel": n (1 up), "paused": bool}`, set by its own commands. */
const QUEUES: KeyRule = {
  expected: 'an object of queue names to {"parallel": n, "paused": true|false}',
  fromText: (_text, what) => {
    throw inputError(`${what} is set per queue: queuectl parallel N --queue NAME, queuectl pause --queue NAME`);
  },
  isValid: (value) =>
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.entries(value).every(
      ([name, queue]) =>
        isSafeId(name) &&
        typeof queue === 'object' &&
        queue !== null &&
        Object.keys(queue).every((key) => key === 'parallel' || key === 'paused') &&
        (queue.parallel === undefined || (Number.isSafeInteger(queue.parallel) && queue.parallel >= 1)) &&
        (queue.paused === undefined || typeof queue.paused === 'boolean'),
    ),
};

const RULES: Record<ConfigKey, KeyRule> = {
  max_retries: wholeNumber(0),
  backoff_base: positiveNumber(1),
  max_backoff: duration('s', 0),
  poll_interval: duration('ms', 10),
  job_timeout: duration('s', 0),
  lease: duration('s', 1),
  retention: wholeNumber(0),
  archive: BOOLEAN,
  archive_days: duration('d', 0),
  paused: BOOLEAN,
  capture_env: BOOLEAN,
  log_limit: SIZE,
  queues: QUEUES,
};

/** `max-retries` and `max_retries` name the same key. */
export function parseConfigKey(name: string): ConfigKey {
  const key = name.replaceAll('-', '_');
  if (!(CONFIG_KEYS as string[]).includes(key)) {
    throw inputError(`unknown config key "${name}": expected one of ${[...CONFIG_KEYS, ...LOCAL_CONFIG_KEYS].join(', ')}`);
  }
  return key as ConfigKey;
}

/** A value typed on the command line for `key`, checked against the key's rule. */
export function parseConfigValue(key: ConfigKey, text: string): Config[ConfigKey] {
  return RULES[key].fromText(text, key);
}

/**
 * The effective config from the stored object: defaults for what is not set. A stored value of
 * the wrong type is reported (naming the file), never silently replaced.
 */
export function resolveConfig(stored: Record<string, unknown>, file: string): Config {
  const config: Config = { ...DEFAULT_CONFIG };
  for (const [name, value] of Object.entries(stored)) {
    const key = name.replaceAll('-', '_');
    if (isLocalConfigKey(key)) {
      // Not a setting of the queue; what it names is checked where the store is chosen (cli/store-choice.ts).
      if (typeof value !== 'string') throw new QueuectlError(`${file}: "${name}" must be file or a postgres:// URL, got ${showValue(value)}; fix it or run queuectl config set store <file|postgres://…>`, 'ECORRUPT');
      continue;
    }
    if (!(CONFIG_KEYS as string[]).includes(key)) {
      throw new QueuectlError(`${file}: unknown key "${name}"; fix or remove it`, 'ECORRUPT');
    }
    const rule = RULES[key as ConfigKey];
    if (!rule.isValid(value)) {
      throw new QueuectlError(
        `${file}: "${name}" must be ${rule.expected}, got ${showValue(value)}; fix it or run queuectl config set ${key} <value>`,
        'ECORRUPT',
      );
    }
    (config as unknown as Record<string, unknown>)[key] = value;
  }
  return config;
}
