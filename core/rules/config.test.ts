import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CONFIG_KEYS, DEFAULT_CONFIG, parseConfigKey, parseConfigValue, resolveConfig } from './config.js';
import { QueuectlError } from './errors.js';

test('the defaults are the documented ones', () => {
  assert.deepEqual(DEFAULT_CONFIG, {
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
    log_limit: 1048576,
    queues: {},
  });
});

test('keys may be spelled with dashes or underscores', () => {
  assert.equal(parseConfigKey('max-retries'), 'max_retries');
  assert.equal(parseConfigKey('max_retries'), 'max_retries');
  assert.equal(parseConfigKey('job-timeout'), 'job_timeout');
});

test('an unknown key is bad input that lists the known ones', () => {
  assert.throws(
    () => parseConfigKey('retries'),
    (error: unknown) =>
      error instanceof QueuectlError && error.exitCode === 2 && error.message.includes('unknown config key "retries"') && error.message.includes('max_retries'),
  );
});

test('values typed on the command line are checked per key', () => {
  assert.equal(parseConfigValue('max_retries', '0'), 0);
  assert.equal(parseConfigValue('backoff_base', '1.5'), 1.5);
  assert.equal(parseConfigValue('archive', 'false'), false);
  assert.equal(parseConfigValue('log_limit', '64k'), 65536);
  assert.equal(parseConfigValue('log_limit', '0'), 0);
  assert.throws(() => parseConfigValue('log_limit', '-1'), /log_limit must be a size/);
  const bad: [string, string][] = [
    ['max_retries', '-1'],
    ['max_retries', '2.5'],
    ['max_retries', 'three'],
    ['backoff_base', '0.5'],
    ['backoff_base', 'abc'],
    ['poll_interval', '5'],
    ['lease', '0'],
    ['max_backoff', '1e3'],
    ['archive', 'yes'],
    ['job_timeout', ''],
  ];
  for (const [key, text] of bad) {
    assert.throws(
      () => parseConfigValue(parseConfigKey(key), text),
      (error: unknown) => error instanceof QueuectlError && error.exitCode === 2 && error.message.includes(key),
      `${key}=${text}`,
    );
  }
});

test('settings that are spans of time take the one duration syntax, in their own unit', () => {
  assert.equal(parseConfigValue('job_timeout', '5m'), 300);
  assert.equal(parseConfigValue('job_timeout', '1.5'), 1.5);
  assert.equal(parseConfigValue('lease', '2m'), 120);
  assert.equal(parseConfigValue('max_backoff', '1h'), 3600);
  assert.equal(parseConfigValue('poll_interval', '250'), 250, 'milliseconds, as it always was');
  assert.equal(parseConfigValue('poll_interval', '2s'), 2_000);
  assert.equal(parseConfigValue('archive_days', '7'), 7, 'days, as its name says');
  assert.equal(parseConfigValue('archive_days', '7d'), 7);
  assert.equal(parseConfigValue('archive_days', '12h'), 0.5);
  assert.throws(() => parseConfigValue('lease', '500ms'), /lease must be a duration of at least 1 s, got "500ms"/);
});

test('every key has a rule that accepts its default', () => {
  for (const key of CONFIG_KEYS) {
    // Stored, every default is valid; typed, every key but queues (set by its own commands).
    assert.deepEqual(resolveConfig({ [key]: DEFAULT_CONFIG[key] }, 'config.json')[key], DEFAULT_CONFIG[key]);
    if (key !== 'queues') assert.equal(parseConfigValue(key, String(DEFAULT_CONFIG[key])), DEFAULT_CONFIG[key]);
  }
  assert.throws(() => parseConfigValue('queues', '{}'), /queues is set per queue: queuectl parallel N --queue NAME/);
});

test('queue settings: names by the id rules, a limit from 1 up, paused true or false, nothing else', () => {
  assert.deepEqual(resolveConfig({ queues: { ffmpeg: { parallel: 1, paused: true }, x: {} } }, 'c.json').queues, {
    ffmpeg: { parallel: 1, paused: true },
    x: {},
  });
  for (const queues of [{ 'a b': {} }, { x: { parallel: 0 } }, { x: { parallel: 1.5 } }, { x: { paused: 'yes' } }, { x: { limit: 1 } }, [], { x: null }]) {
    assert.throws(() => resolveConfig({ queues }, 'c.json'), /c\.json: "queues" must be an object of queue names/, JSON.stringify(queues));
  }
});

test('a stored config fills in defaults for what is not set', () => {
  const config = resolveConfig({ max_retries: 7, 'poll-interval': 100 }, 'config.json');
  assert.equal(config.max_retries, 7);
  assert.equal(config.poll_interval, 100);
  assert.equal(config.backoff_base, 2);
});

test('a stored value of the wrong type is reported with the file, not replaced by a default', () => {
  for (const stored of [{ max_retries: '3' }, { lease: 0 }, { archive: 1 }, { bogus: 1 }]) {
    assert.throws(
      () => resolveConfig(stored, '/data/config.json'),
      (error: unknown) => error instanceof QueuectlError && error.exitCode === 1 && error.message.startsWith('/data/config.json: '),
    );
  }
});

test('config.json may hold the data dir\'s choice of store, which is no setting of the queue; only a string', () => {
  const config = resolveConfig({ store: 'postgres://db/jobs', max_retries: 1 }, 'config.json');
  assert.equal(config.max_retries, 1);
  assert.equal('store' in config, false);
  assert.throws(
    () => resolveConfig({ store: 5 }, '/data/config.json'),
    (error: unknown) => error instanceof QueuectlError && error.exitCode === 1 && /^\/data\/config\.json: "store" must be file or a postgres:\/\/ URL/.test(error.message),
  );
});

test('an unknown key lists the data dir\'s own keys too', () => {
  assert.throws(() => parseConfigKey('retries'), (error: unknown) => error instanceof QueuectlError && /, store$/.test(error.message));
});
