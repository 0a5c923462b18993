/**
 * Raw option values, read from argv before cac sees it. cac (through mri) turns `--id 007` into
 * the number 7 and does not take a value that starts with `-` (`--file -`, `--priority -5`).
 * So values are read here, exactly as typed, and argv is rewritten to `--name=value` for cac,
 * which then only checks for unknown options and builds help.
 */

export interface RawArgs {
  /** argv with `--name value` joined into `--name=value` for every value-taking option, short options spelled long. */
  argv: string[];
  /** The last value given for each value-taking option, as typed. */
  values: Map<string, string>;
  /** Every value given for each value-taking option, in order (for a repeatable one: `--env A=1 --env B=2`). */
  lists: Map<string, string[]>;
  /** Flags that are present (`--json`, `--detach`). */
  flags: Set<string>;
  /** The words after `--`, as typed; undefined when there is no `--`. */
  rest?: string[];
  /** How each option read from a short one was typed (`priority` → `-p5`), for error messages. */
  typed: Map<string, string>;
}

/**
 * `shortOptions` maps a letter to the long option it stands for (`p` → `priority`): `-p 5`,
 * `-p5` and `-p=5` are read as `--priority 5`, and letters go together as getopt takes them
 * (`-wp 5` is `--wait --priority 5`). A negative number (`-5`) is never taken for an option.
 */
export function readRawArgs(
  argv: readonly string[],
  valueOptions: ReadonlySet<string>,
  shortOptions: Readonly<Record<string, string>> = {},
): RawArgs {
  const out = argv.slice(0, 2);
  const values = new Map<string, string>();
  const lists = new Map<string, string[]>();
  const flags = new Set<string>();
  const setValue = (name: string, value: string) => {
    values.set(name, value);
    lists.set(name, [...(lists.get(name) ?? []), value]);
  };
  const typed = new Map<string, string>();
  const tokens = argv.slice(2);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token === '--') {
      out.push(...tokens.slice(i));
      return { argv: out, values, lists, flags, typed, rest: tokens.slice(i + 1) };
    }
    const expanded = expandShort(token, shortOptions, valueOptions);
    if (expanded !== null) {
      for (const long of expanded) typed.set(long.replace(/^--([^=]*).*$/, '$1'), token);
      tokens.splice(i, 1, ...expanded);
      i--;
      continue;
    }
    if (!token.startsWith('--')) {
      out.push(token);
      continue;
    }
    const eq = token.indexOf('=');
    const name = eq === -1 ? token.slice(2) : token.slice(2, eq);
    if (eq !== -1) {
      if (valueOptions.has(name)) setValue(name, token.slice(eq + 1));
      out.push(token);
      continue;
    }
    const next = tokens[i + 1];
    const nextIsOption = next !== undefined && (next.startsWith('--') || /^-[A-Za-z]/.test(next));
    if (valueOptions.has(name) && next !== undefined && !nextIsOption) {
      setValue(name, next);
      out.push(`${token}=${next}`);
      i++;
      continue;
    }
    flags.add(name);
    out.push(token);
  }
  return { argv: out, values, lists, flags, typed };
}

/** A token of short options as long ones; null when it is not one (a negative number, an unknown letter). */
function expandShort(token: string, shortOptions: Readonly<Record<string, string>>, valueOptions: ReadonlySet<string>): string[] | null {
  if (!/^-[A-Za-z]/.test(token)) return null;
  const letters = token.slice(1);
  const longs: string[] = [];
  for (let i = 0; i < letters.length; i++) {
    const long = shortOptions[letters[i]!];
    if (long === undefined) return null; // cac names it as unknown
    if (!valueOptions.has(long)) {
      longs.push(`--${long}`);
      continue;
    }
    // A value option takes the rest of the token (`-p5`, `-p=5`), else the next one.
    const rest = letters.slice(i + 1).replace(/^=/, '');
    longs.push(rest === '' ? `--${long}` : `--${long}=${rest}`);
    return longs;
  }
  return longs;
}

/**
 * Hidden spellings of grouped commands, as users of other queues type them: `worker-start` and
 * `worker:start` become `worker start`. Only the first positional word (the command) is looked
 * at, and only known group/action pairs are rewritten, so anything else still fails as an
 * unknown command naming what was typed.
 */
export function expandCommandAlias(argv: readonly string[], groups: Readonly<Record<string, readonly string[]>>): string[] {
  const out = [...argv];
  for (let i = 2; i < out.length; i++) {
    const token = out[i]!;
    if (token === '--') break;
    if (token.startsWith('-')) continue;
    const match = /^([a-z]+)[-:]([a-z]+)$/.exec(token);
    if (match && groups[match[1]!]?.includes(match[2]!)) out.splice(i, 1, match[1]!, match[2]!);
    break;
  }
  return out;
}

/**
 * `queuectl help` and `queuectl help <command>`, as git and pueue take them: the same as
 * `--help` and `<command> --help`. Only the first positional word is looked at.
 */
export function expandHelp(argv: readonly string[]): string[] {
  const out = [...argv];
  for (let i = 2; i < out.length; i++) {
    const token = out[i]!;
    if (token === '--') break;
    if (token.startsWith('-')) continue;
    if (token !== 'help') break;
    const topic = out[i + 1];
    if (topic === undefined || topic.startsWith('-')) out.splice(i, 1, '--help');
    else out.splice(i, 2, topic, '--help');
    break;
  }
  return out;
}
