/**
 * The entry point of a worker child: worker-process.js beside this module's file, which is
 * dist/cli/worker-process.js where this runs as compiled, and dist/bundle/worker-process.js (its
 * launcher) where it runs in the CLI's bundle. Kept at this depth for that: both lie two levels
 * below the package's root.
 */
import { fileURLToPath } from 'node:url';

export const WORKER_SCRIPT = fileURLToPath(new URL('./worker-process.js', import.meta.url));
