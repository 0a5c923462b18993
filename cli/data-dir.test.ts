import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseDataDir } from './data-dir.js';
import { QueuectlError } from '../core/rules/errors.js';

const CHECKOUT = '/home/me/src/queuectl';
const INSTALLED = '/usr/lib/node_modules/queuectl';
const HOME = () => '/home/me';

test('--data-dir wins, then QUEUECTL_DATA_DIR; a relative one is resolved against the current directory', () => {
  assert.equal(chooseDataDir('/q', { QUEUECTL_DATA_DIR: '/e' }, INSTALLED, HOME), '/q');
  assert.equal(chooseDataDir(undefined, { QUEUECTL_DATA_DIR: '/e' }, INSTALLED, HOME), '/e');
  assert.equal(chooseDataDir('rel', {}, INSTALLED, HOME), `${process.cwd()}/rel`);
});

test('run from a source checkout, the default is its data/; an empty QUEUECTL_DATA_DIR counts as unset', () => {
  assert.equal(chooseDataDir(undefined, {}, CHECKOUT, HOME), `${CHECKOUT}/data`);
  assert.equal(chooseDataDir(undefined, { QUEUECTL_DATA_DIR: '' }, CHECKOUT, HOME), `${CHECKOUT}/data`);
});

test('installed (inside a node_modules), the default is the user\'s XDG state dir, never the package', () => {
  assert.equal(chooseDataDir(undefined, {}, INSTALLED, HOME), '/home/me/.local/state/queuectl');
  assert.equal(chooseDataDir(undefined, {}, '/home/me/project/node_modules/queuectl', HOME), '/home/me/.local/state/queuectl');
  assert.equal(chooseDataDir(undefined, { XDG_STATE_HOME: '/var/state' }, INSTALLED, HOME), '/var/state/queuectl');
  assert.equal(chooseDataDir(undefined, { XDG_STATE_HOME: 'relative' }, INSTALLED, HOME), '/home/me/.local/state/queuectl', 'the XDG spec says to ignore a relative path');
});

test('an empty --data-dir is bad input that names the default', () => {
  assert.throws(
    () => chooseDataDir('', {}, INSTALLED, HOME),
    (error: unknown) =>
      error instanceof QueuectlError &&
      error.exitCode === 2 &&
      error.message === '--data-dir is empty: give a directory, or leave the option out to use /home/me/.local/state/queuectl',
  );
});
