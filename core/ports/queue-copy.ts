/**
 * What `queuectl store copy` needs of a store, beside the Store port: the whole queue read out
 * at one instant, and written into another store in one all-or-nothing step. Each store
 * implements it over what it holds (files of a data directory, tables of a schema), so a copy
 * goes between any two stores without either knowing the other.
 */
import type { Job } from '../rules/job.js';

/** One job's log, or one host's part of it (a store that many hosts share keeps one per host). */
export interface LogPart {
  id: string;
  /** The host that wrote this part; null where the store does not tell (the file store: its one host). */
  host: string | null;
  /** The run it is the output of, where a store keeps logs by run (PostgreSQL); absent where it does not. */
  run?: string;
  /** Its length in bytes. */
  size: number;
  /**
   * Its bytes from `from` to `to`, read when the load takes them: a piece at a time, or only the
   * part a store keeps, so that no log is held whole (a log file may be larger than a string can be).
   */
  read(from: number, to: number): Buffer;
}

/** A whole queue, as `store copy` carries it from one store to another. */
export interface QueueDump {
  /**
   * Every job, of the queue and of the DLQ (the dead ones), in the store's enqueue order: jobs
   * enqueued together have one `created_at`, and the order among them (the claim order of equal
   * priorities) is kept.
   */
  jobs: Job[];
  /**
   * The settings a person set (`config set`, `pause`, `parallel`), keys spelled as in
   * core/rules/config.ts; the defaults are not here, so the target's own defaults apply to the rest.
   */
  settings: Record<string, unknown>;
  /** The logs of the jobs above, the parts of one job in the order they were written. */
  logs: LogPart[];
  /** The stored environments that jobs above refer to (`env_id`): without them a job cannot start. */
  envs: { id: string; env: Record<string, string> }[];
  /** Ids of completed jobs no longer in the queue (pruned, archived), for `--after`. */
  completedIds: string[];
  /** Finished jobs that retention moved to the archive, which a copy leaves in the source. */
  archived: number;
}

export interface QueueCopy {
  /** Where the queue is, for messages. */
  readonly location: string;
  /** Whether a queue is there at all (a data dir with queuectl's files, a schema with its tables); creates nothing. */
  exists(): Promise<boolean>;
  /** The whole queue at one instant; changes nothing. */
  dump(): Promise<QueueDump>;
  /** Which of `ids` are jobs here (in the queue or the DLQ); creates nothing. */
  taken(ids: readonly string[]): Promise<string[]>;
  /**
   * Adds the dump in one step, all or nothing: the jobs (queue and DLQ), the settings (over those
   * set here), the logs (replacing any left by an earlier job of the same id), the environments
   * and the completed ids. Refuses, with nothing written, when one of its ids is taken
   * (rules/copy.ts refuseTaken, checked again inside the step).
   */
  load(dump: QueueDump): Promise<void>;
  /** Lets go of what it holds open. */
  close(): Promise<void>;
}
