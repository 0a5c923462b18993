/**
 * LISTEN on a connection of its own, kept up. A connection lost (the server restarted, a
 * failover, the session ended by an administrator) would otherwise leave a manager deaf for
 * good: it would pick up jobs and notice cancels only at its polls. It is made again after a
 * pause that doubles from 1 s up to 10 s; once listening again the caller is told, since
 * notifications sent meanwhile are lost.
 */
import type { Client } from 'pg';
import pg, { KEEP_ALIVE } from './pg.js';
import { reconnectDelayMs } from '../../core/rules/backoff.js';

export interface ListenOptions {
  url: string;
  channel: string;
  /** How the connection shows in pg_stat_activity. */
  applicationName: string;
  onPayload: (payload: string) => void;
  /** Listening again after a connection was lost or could not be made: changes may have been missed. */
  onResumed: () => void;
}

/** Starts listening; returns how to stop. */
export function listen({ url, channel, applicationName, onPayload, onResumed }: ListenOptions): () => void {
  let stopped = false;
  let failures = 0;
  let retry: NodeJS.Timeout | undefined;
  let connecting: Promise<unknown> = Promise.resolve();
  let client: Client | undefined;

  const connect = () => {
    if (stopped) return;
    const attempt = new pg.Client({ connectionString: url, application_name: applicationName, ...KEEP_ALIVE });
    client = attempt;
    let lost = false;
    const lose = () => {
      if (lost) return;
      lost = true;
      attempt.end().catch(() => undefined);
      if (stopped) return;
      retry = setTimeout(connect, reconnectDelayMs(failures++));
      retry.unref();
    };
    attempt.on('error', lose);
    attempt.on('end', lose);
    attempt.on('notification', (message) => onPayload(message.payload ?? ''));
    const resuming = failures > 0;
    connecting = attempt
      .connect()
      .then(() => (stopped ? undefined : attempt.query(`LISTEN ${channel}`)))
      .then(() => {
        if (stopped || lost) return;
        failures = 0;
        if (resuming) onResumed();
      })
      .catch(lose);
  };
  connect();

  return () => {
    stopped = true;
    clearTimeout(retry);
    // Once connecting has settled: ending a client mid-connect may leave its socket open.
    const last = client;
    void connecting.then(() => last?.end()).catch(() => undefined);
  };
}
