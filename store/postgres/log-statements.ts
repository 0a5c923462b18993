/**
 * The statement that appends a piece to its run's row of the logs table (see log-rows.ts), for
 * both ways a piece comes: uploaded on its own (values as parameters), and with its run's outcome
 * in a dispatch cycle (values written in as literals, to go with the cycle's other statements).
 */
import type { LogPiece } from '../../core/ports/host.js';
import { text } from './sql.js';

/** Appends `text` to the row of run `run` of `host` in job `id`'s log, given as SQL values (literals, or `$1`…). */
function appendStatement(s: string, id: string, host: string, run: string, value: string): string {
  return `INSERT INTO ${s}.logs (job_id, host, run, text) VALUES (${id}, ${host}, ${run}, ${value})
       ON CONFLICT (job_id, host, run) DO UPDATE SET text = ${s}.logs.text || EXCLUDED.text`;
}

/** The append with its values as the parameters $1 (the job's id), $2 (host), $3 (run) and $4 (text). */
export function appendLogWithParameters(s: string): string {
  return appendStatement(s, '$1', '$2', '$3', '$4');
}

/** The append of `piece`, its values written in. */
export function appendLogPiece(s: string, piece: LogPiece): string {
  return appendStatement(s, text(piece.id), text(piece.host), text(piece.run), text(piece.text));
}
