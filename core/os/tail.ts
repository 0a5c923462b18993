/** Reading the end of a file, as `tail -n` does, without reading the rest. */
import { fstatSync, readSync } from 'node:fs';

const TAIL_CHUNK = 64 * 1024;

/** Where the last `lines` lines of the file start (a final newline ends the last line, not a new one). */
export function tailStart(fd: number, lines: number): number {
  const { size } = fstatSync(fd);
  if (lines <= 0) return size;
  const buffer = Buffer.alloc(TAIL_CHUNK);
  let end = size;
  let newlines = 0;
  while (end > 0) {
    const start = Math.max(0, end - TAIL_CHUNK);
    readSync(fd, buffer, 0, end - start, start);
    for (let i = end - start - 1; i >= 0; i--) {
      if (buffer[i] !== 0x0a || start + i === size - 1) continue;
      if (++newlines === lines) return start + i + 1;
    }
    end = start;
  }
  return 0;
}
