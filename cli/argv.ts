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
}

/**
 * `shortOptions` maps a letter to the long option it stands for (`p` → `priority`): `-p 5` is
 * read as `--priority 5`. A negative number (`-5`) is never taken for an option.
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
  for (let i = 2; i < argv.length; i++) {
    let token = argv[i]!;
    if (token === '--') {
      out.push(...argv.slice(i));
      return { argv: out, values, lists, flags, rest: argv.slice(i + 1) };
    }
    const short = /^-([A-Za-z])$/.exec(token);
    if (short && shortOptions[short[1]!] !== undefined) token = `--${shortOptions[short[1]!]}`;
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
    const next = argv[i + 1];
    const nextIsOption = next !== undefined && (next.startsWith('--') || /^-[A-Za-z]$/.test(next));
    if (valueOptions.has(name) && next !== undefined && !nextIsOption) {
      setValue(name, next);
      out.push(`${token}=${next}`);
      i++;
      continue;
    }
    flags.add(name);
    out.push(token);
  }
  return { argv: out, values, lists, flags };
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
