/**
 * Checks a lock log (written by every queuectl process when `QUEUECTL_LOCK_LOG` is set, see
 * store/file/lock.ts): one line per event, `<pid> acquired <ns>` or `<pid> released <ns>`, where `<ns>`
 * is the system-wide monotonic clock. The lock works when no two holders' intervals overlap.
 *
 * A holder that acquired and never released was killed while it held the lock; its interval
 * ends when it was killed (if the caller knows, from its own kill log on the same clock), else
 * when the next holder took over. Pure functions over text and plain data.
 */

export interface LockEvent {
  pid: number;
  event: 'acquired' | 'released';
  ns: bigint;
}

export interface LockInterval {
  pid: number;
  from: bigint;
  /** When it released; null when it never did (killed while holding). */
  to: bigint | null;
}

export interface LockLogReport {
  /** Every time the lock was taken. */
  acquisitions: number;
  intervals: LockInterval[];
  /** Intervals never released: their holder was killed while it held the lock. */
  abandoned: LockInterval[];
  /** Pairs of holders whose intervals overlap: each one is a broken lock. */
  overlaps: [LockInterval, LockInterval][];
  /** Most holders at any one instant: 1 when the lock works (0 for an empty log). */
  maxHolders: number;
  /** For each abandoned lock, how long until the next holder took over (ns). */
  takeoverWaits: bigint[];
  /** Lines that do not parse, releases without an acquisition, holders left that were not killed. */
  problems: string[];
}

export function parseLockLog(text: string, problems: string[] = []): LockEvent[] {
  const events: LockEvent[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    const match = /^(\d+) (acquired|released) (\d+)$/.exec(line.trim());
    if (!match) {
      problems.push(`line ${index + 1} is not "<pid> acquired|released <ns>": ${JSON.stringify(line)}`);
      return;
    }
    events.push({ pid: Number(match[1]), event: match[2] as LockEvent['event'], ns: BigInt(match[3]!) });
  });
  return events;
}

/**
 * Pairs each process's acquisitions with its releases and looks for overlapping intervals.
 * `killed` maps the pid of each process killed on purpose to when it was killed (same clock;
 * several times if the pid was reused); an abandoned interval of a pid not in it is a problem
 * (a holder that vanished unexplained).
 */
export function checkLockLog(text: string, killed?: ReadonlyMap<number, readonly bigint[]>): LockLogReport {
  const problems: string[] = [];
  const events = parseLockLog(text, problems);
  const intervals: LockInterval[] = [];
  const open = new Map<number, LockInterval>();
  for (const { pid, event, ns } of events) {
    const held = open.get(pid);
    if (event === 'acquired') {
      // A second acquisition by one pid without a release: the first holder died holding the
      // lock and a later process got the same pid. Keep the first as abandoned.
      if (held) open.delete(pid);
      const interval: LockInterval = { pid, from: ns, to: null };
      intervals.push(interval);
      open.set(pid, interval);
    } else if (held) {
      held.to = ns;
      open.delete(pid);
    } else {
      problems.push(`pid ${pid} released the lock at ${ns} without holding it`);
    }
  }
  intervals.sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));

  const abandoned = intervals.filter((interval) => interval.to === null);
  const takeoverWaits: bigint[] = [];
  const ends = new Map<LockInterval, bigint>();
  for (const interval of abandoned) {
    const next = intervals.find((other) => other.from > interval.from && other !== interval);
    if (next) takeoverWaits.push(next.from - interval.from);
    // The first kill of that pid after it took the lock: its holder was gone by then.
    const killedAt = killed?.get(interval.pid)?.find((at) => at >= interval.from);
    if (killed && killedAt === undefined) {
      problems.push(`pid ${interval.pid} took the lock at ${interval.from} and never released it, but was not killed after that`);
    }
    // Without a kill time, assume the holder was gone by the time the next one took over.
    const end = killedAt ?? next?.from ?? interval.from;
    ends.set(interval, end);
  }
  const endOf = (interval: LockInterval) => interval.to ?? ends.get(interval)!;

  const overlaps: [LockInterval, LockInterval][] = [];
  let maxHolders = 0;
  const active: LockInterval[] = [];
  for (const interval of intervals) {
    for (let i = active.length - 1; i >= 0; i--) {
      if (endOf(active[i]!) <= interval.from) active.splice(i, 1);
    }
    for (const other of active) overlaps.push([other, interval]);
    active.push(interval);
    maxHolders = Math.max(maxHolders, active.length);
  }
  return { acquisitions: intervals.length, intervals, abandoned, overlaps, maxHolders, takeoverWaits, problems };
}
