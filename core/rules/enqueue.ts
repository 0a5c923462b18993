/**
 * Which ids a batch of new jobs gets, and whether its dependencies can be waited for, decided on
 * plain data: a store says which ids are taken and what became of the jobs named in `after`. All
 * or nothing: the first clash or impossible dependency rejects the whole batch.
 */
import { randomBytes } from 'node:crypto';
import type { FoundDependency } from './dependencies.js';
import { inputError } from './errors.js';
import type { JobSpec } from './job-spec.js';

/** How a batch names its jobs in errors: `job 3`, `line 3`; nothing for a batch of one. */
export interface BatchLabels {
  label: (index: number) => string;
  where: (index: number) => string;
}

export function batchLabels(count: number, label: (index: number) => string = (index) => `job ${index + 1}`): BatchLabels {
  return { label, where: (index) => (count > 1 ? `${label(index)}: ` : '') };
}

/** Random bytes drawn 4 KiB at a time: one call of the system's generator per id cost 0.4 s for 100,000 ids. */
let pool = Buffer.alloc(0);
let used = 0;

function randomHex8(): string {
  if (used + 4 > pool.length) {
    pool = randomBytes(4096);
    used = 0;
  }
  used += 4;
  return pool.toString('hex', used - 4, used);
}

/** A new random id: 8 hex digits, unlike every taken one. */
export function generateId(taken: (id: string) => boolean): string {
  for (;;) {
    const id = randomHex8();
    if (!taken(id)) return id;
  }
}

/**
 * The id of each spec, in order: its own, which must be new across the store and the batch, or
 * a new random one. `taken` says whether the store has a job of that id.
 */
export function assignIds(specs: readonly JobSpec[], taken: (id: string) => boolean, { label, where }: BatchLabels): string[] {
  /** Ids given in this batch, and where. */
  const given = new Map<string, number>();
  const chosen = new Set<string>();
  return specs.map((spec, index) => {
    if (spec.id !== undefined && given.has(spec.id)) {
      throw inputError(`${where(index)}id "${spec.id}" is also the id of ${label(given.get(spec.id)!)}; ids must be unique`);
    }
    if (spec.id !== undefined && (taken(spec.id) || chosen.has(spec.id))) {
      throw inputError(`${where(index)}a job with id "${spec.id}" already exists; ids must be unique across queue and DLQ`);
    }
    if (spec.id !== undefined) given.set(spec.id, index);
    const id = spec.id ?? generateId((candidate) => taken(candidate) || chosen.has(candidate) || given.has(candidate));
    chosen.add(id);
    return id;
  });
}

/**
 * For a store that learns which ids it has only by asking (a database, in the round trip that
 * asks for everything else): `ids` as assignIds drew them with nothing taken, checked against
 * what the store said. A drawn id it has is drawn again, unlike every id known taken and every
 * other id of the batch; an id the user gave that it has is an error. 8 random hex digits meet
 * one of a few hundred thousand jobs often enough: each batch of 100,000 beside 100,000 did.
 * Returns the ids and those drawn again, which the store must check in turn.
 */
export function redrawTaken(
  specs: readonly JobSpec[],
  ids: readonly string[],
  taken: (id: string) => boolean,
  { where }: BatchLabels,
): { ids: string[]; redrawn: string[] } {
  const inBatch = new Set(ids);
  const redrawn: string[] = [];
  const result = ids.map((id, index) => {
    if (!taken(id)) return id;
    if (specs[index]!.id !== undefined) throw inputError(`${where(index)}a job with id "${id}" already exists; ids must be unique across queue and DLQ`);
    const fresh = generateId((candidate) => taken(candidate) || inBatch.has(candidate));
    inBatch.add(fresh);
    redrawn.push(fresh);
    return fresh;
  });
  return { ids: result, redrawn };
}

/** The dependencies the batch names outside itself, whose states the store must find. */
export function outsideDependencies(specs: readonly JobSpec[]): Set<string> {
  const inBatch = new Set(specs.flatMap((spec) => (spec.id === undefined ? [] : [spec.id])));
  return new Set(specs.flatMap((spec) => spec.after ?? []).filter((id) => !inBatch.has(id)));
}

/**
 * Every dependency must be able to complete: a job earlier in the batch, or a job found that is
 * not dead or canceled (`found` says what became of those outside the batch).
 */
export function checkDependencies(specs: readonly JobSpec[], found: (id: string) => FoundDependency | undefined, { label, where }: BatchLabels): void {
  const given = new Map<string, number>();
  specs.forEach((spec, index) => {
    if (spec.id !== undefined && !given.has(spec.id)) given.set(spec.id, index);
  });
  specs.forEach((spec, index) => {
    for (const dependency of spec.after ?? []) {
      const inBatch = given.get(dependency);
      if (inBatch !== undefined) {
        if (inBatch < index) continue;
        throw inputError(`${where(index)}cannot run after "${dependency}": it is ${label(inBatch)}, later in the batch, and a job can run only after jobs before it; nothing was enqueued`);
      }
      const state = found(dependency)?.state;
      if (state === undefined) {
        throw inputError(`${where(index)}no job "${dependency}" to run after in the queue, the DLQ or the archive; nothing was enqueued`);
      }
      if (state === 'dead' || state === 'canceled') {
        throw inputError(
          `${where(index)}cannot run after "${dependency}": it is ${state} and will not complete (${state === 'dead' ? 'queuectl dlq retry' : 'queuectl restart'} ${dependency} first); nothing was enqueued`,
        );
      }
    }
  });
}
