/**
 * What `core/` needs of the machine it runs on, apart from the store: the logs of the runs it
 * starts, and the registry of the worker managers running here. On a database store, jobs are
 * shared by many hosts while these stay with the host that ran them.
 */
import type { ProcessIdentity } from '../os/process-identity.js';

/** The log of each job: the output of every run, under a header line per run, and queuectl's own lines. */
export interface RunLogs {
  /**
   * Opens the job's log for a run's output, after writing its `header` line; returns the
   * descriptor. `logLimit`: the store's log_limit as of the run's claim, the bytes of the run's
   * output a store many hosts share keeps (read from the store when not given).
   */
  open(id: string, header: string, logLimit?: number): number;
  close(fd: number): void;
  /** The mark in a run's header that `showsRun` looks for: the run claimed with `token`. */
  claimMark(token: string): string;
  /** Whether the job's log has the header of the run claimed with `token`: that run started. */
  showsRun(id: string, token: string): boolean;
  /**
   * Appends a line of queuectl's own to the log of a job that ran, wherever its log went; nothing
   * when it has none. `lostRun`: the claim of the run the line ends, when no worker ends it (its
   * worker died): a store many hosts share then gets that run's part of this host's log, from its
   * header on, what its worker had not sent with it.
   */
  appendToRun(id: string, line: string, lostRun?: string): void;
  /**
   * Ends the job's run with `line` as appendToRun does, where a store many hosts share has the
   * logs (absent where the log file is all). Resolves once the run's log is in the store, within
   * `waitMs` (a database that hangs: the host's file has it anyway): with nothing, or, when the
   * run's last piece is small, with that piece, not sent: it goes with the run's outcome
   * (RunEnd.log), written in the step that records it, which saves the store a write per run.
   */
  endRun?(id: string, line: string, waitMs: number): Promise<LogPiece | undefined>;
  /**
   * Appends a line of queuectl's own to the job's log, making one for a job that never ran; with
   * `archive`, to its log in that part of the archive (nothing when it has none there).
   */
  note(id: string, line: string, archive?: string): void;
  /** Where the job's log is (or would be): in the part of the archive named, else wherever it is now. */
  pathOf(id: string, archive?: string): string;
  /** The job's log file on this host (see pathOf), or null where there is none: it never ran here. */
  fileOf(id: string, archive?: string): string | null;
  /**
   * Writes the job's log, or its last `lines` lines, through `write` a piece at a time (a log file
   * may be larger than memory, or than a string can be); false when it has none (it never ran).
   */
  writeOut(id: string, write: (chunk: Buffer) => Promise<void>, options?: { archive?: string; lines?: number }): Promise<boolean>;
  /**
   * For `logs -f` where the log is followed from the store rather than from this host's file
   * (a store many hosts share): the job's log, starting with its last `tailLines` lines if given.
   */
  stream?(id: string, tailLines?: number): LogStream;
}

/**
 * The end of a run's log, for the store to add to what it has of that run (see RunLogs.endRun).
 * core/ only carries it, from the worker to the dispatch cycle.
 */
export interface LogPiece {
  /** The job's id. */
  id: string;
  /** The host that ran it. */
  host: string;
  /** Which run of the job on that host: the key its earlier pieces went under. */
  run: string;
  text: string;
}

/** A job's log as `logs -f` follows it from a store. */
export interface LogStream {
  /**
   * Writes out what the log gained since the last call (all of it, the first time). `last`: the
   * job has finished and this is the last call: write out whatever was held back.
   */
  copy(write: (chunk: Buffer) => Promise<void>, last?: boolean): Promise<void>;
  /** Whether each run in what was last copied has its end line: a finished job's last output may reach the store just after its end. */
  complete(): boolean;
}

export interface WorkerRecord extends ProcessIdentity {
  started_at: string;
}

/** What `worker stop --all` asked of a manager of another host: nothing, to stop once its running jobs end, or to kill them now. */
export type StopRequest = null | 'finish' | 'now';

export interface ManagerRecord extends ProcessIdentity {
  /** The host it runs on (absent from records written before queuectl noted it: this host). */
  host?: string;
  started_at: string;
  /** How many workers it keeps running. */
  count: number;
  /** The queues it takes jobs from (`worker start --queue`); null or absent for every queue. */
  queues?: string[] | null;
  workers: WorkerRecord[];
}

/**
 * The worker managers running on this data directory (or, on a store many hosts share, on the
 * store), for `worker stop`, `status` and each other.
 */
export interface ManagerRegistry {
  /** Records (or updates) a running manager of this host. */
  write(record: ManagerRecord): Promise<void>;
  remove(pid: number): Promise<void>;
  /** The managers running, by host and pid; records of dead ones are dropped on the way. */
  live(): Promise<ManagerRecord[]>;
  /** This host's managers running, from what this host keeps: found while the store is out of reach (`worker stop`). */
  here(): Promise<ManagerRecord[]>;
  /**
   * How often a manager must write its record again to be taken for alive: where the registry
   * cannot check a pid (another host's), a record not renewed lapses. Null where it checks pids.
   */
  readonly renewEveryMs: number | null;
  /**
   * Asks the managers of other hosts to stop as `worker stop` does (those of this host get a
   * signal): their running jobs finish first, or with `now` (`--timeout` passed) are killed.
   */
  requestStop(records: readonly ManagerRecord[], now?: boolean): Promise<void>;
  /**
   * The managers of other hosts that went silent: their records were not renewed (so live() does
   * not list them) and were not removed, as a manager that stops removes its own. Their host is
   * down, or cut off from the store: they may still run jobs. None where the registry checks pids.
   */
  silent(): Promise<ManagerRecord[]>;
  /** Whether `worker stop --all` asked manager `pid` of this host to stop, and how (see requestStop). */
  stopRequested(pid: number): Promise<StopRequest>;
}

/** What became of the data directory under a running manager. */
export type DataDirLoss = 'deleted or moved away' | 'replaced' | 'emptied';

export interface Host {
  /** The data directory: logs, the manager registry, and the mark on each run's processes. */
  readonly root: string;
  /** This machine's name, as managers and runs are told apart across hosts. */
  readonly name: string;
  readonly logs: RunLogs;
  readonly managers: ManagerRegistry;
  /** Creates the data directory on first use (private to this user), or checks that it can be written. */
  prepare(): void;
  /** Where the output of a manager started with `worker start --detach` goes. */
  readonly managerLog: string;
  /**
   * Moves the older lines of the manager log at `path` aside once it grew past its limit; every
   * detached manager of the data directory appends to it, so they take turns. Whether it did.
   */
  rotateManagerLog(path: string): Promise<boolean>;
  /**
   * Calls `onLost` once, when the data directory is no longer the one manager `pid` registered
   * in (deleted, replaced, or emptied under it). Returns the function that stops watching.
   */
  watchLoss(pid: number, onLost: (what: DataDirLoss) => void): () => void;
}
