import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandCommandAlias, expandHelp, readRawArgs } from './argv.js';

const VALUES = new Set(['id', 'file', 'priority', 'data-dir']);
const argv = (...args: string[]) => ['node', 'queuectl', ...args];

test('values are kept exactly as typed, so an id of 007 stays "007"', () => {
  const raw = readRawArgs(argv('enqueue', '--id', '007'), VALUES);
  assert.equal(raw.values.get('id'), '007');
  assert.deepEqual(raw.argv, argv('enqueue', '--id=007'));
});

test('a value that starts with a dash is still a value: --file - and --priority -5', () => {
  const raw = readRawArgs(argv('enqueue', '--file', '-', '--priority', '-5'), VALUES);
  assert.equal(raw.values.get('file'), '-');
  assert.equal(raw.values.get('priority'), '-5');
});

test('--name=value works and the last one given wins', () => {
  const raw = readRawArgs(argv('list', '--id=a', '--id=b'), VALUES);
  assert.equal(raw.values.get('id'), 'b');
});

test('flags and positionals pass through; a value option followed by an option has no value', () => {
  const raw = readRawArgs(argv('show', 'x', '--json', '--id', '--json'), VALUES);
  assert.deepEqual([...raw.flags].sort(), ['id', 'json']);
  assert.equal(raw.values.has('id'), false);
  assert.deepEqual(raw.argv, argv('show', 'x', '--json', '--id', '--json'));
});

test('nothing after -- is read as an option', () => {
  const raw = readRawArgs(argv('enqueue', '--', '--id', 'x'), VALUES);
  assert.equal(raw.values.size, 0);
});

test('worker-start, worker:start and the like become the grouped command; other words are left alone', () => {
  const groups = { worker: ['start', 'stop'], dlq: ['list', 'retry'] };
  assert.deepEqual(expandCommandAlias(argv('worker-start', '--count=2'), groups), argv('worker', 'start', '--count=2'));
  assert.deepEqual(expandCommandAlias(argv('--data-dir=d', 'dlq:retry', 'x'), groups), argv('--data-dir=d', 'dlq', 'retry', 'x'));
  assert.deepEqual(expandCommandAlias(argv('worker-restart'), groups), argv('worker-restart'), 'unknown action');
  assert.deepEqual(expandCommandAlias(argv('config-get'), groups), argv('config-get'), 'unknown group');
  assert.deepEqual(expandCommandAlias(argv('show', 'worker-start'), groups), argv('show', 'worker-start'), 'only the command word');
  assert.deepEqual(expandCommandAlias(argv('--', 'worker-start'), groups), argv('--', 'worker-start'));
});

test('help and help <command> are --help and <command> --help', () => {
  assert.deepEqual(expandHelp(argv('help')), argv('--help'));
  assert.deepEqual(expandHelp(argv('help', 'enqueue')), argv('enqueue', '--help'));
  assert.deepEqual(expandHelp(argv('--data-dir=d', 'help', 'worker')), argv('--data-dir=d', 'worker', '--help'));
  assert.deepEqual(expandHelp(argv('show', 'help')), argv('show', 'help'), 'a job may be called help');
});

test('short options are their long ones: -p 5 is --priority 5, -w is --wait; a negative number is a value', () => {
  const short = { p: 'priority', w: 'wait', t: 'timeout' };
  const raw = readRawArgs(argv('enqueue', '-p', '-5', '-w', '-t', '5m', '--', 'make', '-j4'), new Set(['priority', 'timeout']), short);
  assert.equal(raw.values.get('priority'), '-5');
  assert.equal(raw.values.get('timeout'), '5m');
  assert.ok(raw.flags.has('wait'));
  assert.deepEqual(raw.rest, ['make', '-j4'], 'the words after --, as typed');
  assert.deepEqual(raw.argv, argv('enqueue', '--priority=-5', '--wait', '--timeout=5m', '--', 'make', '-j4'));
  assert.equal(readRawArgs(argv('list'), new Set()).rest, undefined);
});

test('a value option followed by a short option has no value', () => {
  const raw = readRawArgs(argv('enqueue', '-t', '-w'), new Set(['timeout']), { t: 'timeout', w: 'wait' });
  assert.equal(raw.values.has('timeout'), false);
  assert.deepEqual([...raw.flags].sort(), ['timeout', 'wait']);
});

test('short options take their value attached (-p5, -p=5) and go together as getopt takes them (-wp 5)', () => {
  const short = { p: 'priority', w: 'wait', d: 'delay' };
  const values = new Set(['priority', 'delay']);
  const attached = readRawArgs(argv('enqueue', '-p5', '-d=1h'), values, short);
  assert.equal(attached.values.get('priority'), '5');
  assert.equal(attached.values.get('delay'), '1h');
  const grouped = readRawArgs(argv('enqueue', '-wp', '5', '--', 'true'), values, short);
  assert.ok(grouped.flags.has('wait'));
  assert.equal(grouped.values.get('priority'), '5');
  assert.equal(grouped.typed.get('wait'), '-wp', 'for an error, as it was typed');
  const unknown = readRawArgs(argv('enqueue', 'ls', '-la'), values, short);
  assert.deepEqual(unknown.argv, argv('enqueue', 'ls', '-la'), 'a letter it does not know leaves the token alone');
});
