#!/usr/bin/env node
/**
 * The `queuectl` command as installed (package.json's bin): the bundle of the CLI, run with the
 * code cache of the command given. scripts/bundle.ts builds it into dist/bundle/queuectl.js.
 */
import { fileURLToPath } from 'node:url';
import { runBundle } from '../compile-cache.js';
import { commandKey } from './command-key.js';

const beside = (name: string) => fileURLToPath(new URL(`./${name}`, import.meta.url));
const key = commandKey(process.argv.slice(2));
// node-postgres's cache too is the command's: each uses its own part of it.
runBundle(beside('cli.bundle.js'), key, { pg: { file: beside('pg.bundle.js'), key } });
