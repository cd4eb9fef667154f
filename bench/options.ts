/** a bench's command-line options: those taking a value, and flags */
export interface OptionSpec {
  /** `--key=value` (the value may itself hold '=', e.g. --node-args=--max-old-space-size=4096) */
  values?: Record<string, (value: string, key: string) => void>;
  /** `--flag`, without a value */
  flags?: Record<string, () => void>;
}

/** Hands each argument to its handler; an unknown option, or one missing its value, is an error listing the known ones. */
export function parseOptions (argv: string[], spec: OptionSpec): void {
  const values = spec.values || {};
  const flags = spec.flags || {};
  for (const arg of argv) {
    const at = arg.indexOf('=');
    const key = at < 0 ? arg : arg.slice(0, at);
    const value = at < 0 ? '' : arg.slice(at + 1);
    if (Object.prototype.hasOwnProperty.call(values, key) && value !== '') {
      values[key](value, key);
    }
    else if (Object.prototype.hasOwnProperty.call(flags, key) && at < 0) {
      flags[key]();
    }
    else {
      const known = [...Object.keys(values).map(name => `${name}=…`), ...Object.keys(flags)];
      throw new Error(`unknown option ${arg} (options: ${known.join(', ')})`);
    }
  }
}

/** the value of option `key`, a positive integer */
export function positiveInteger (key: string, value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) {
    throw new Error(`${key}: expected a positive integer, got ${value}`);
  }
  return number;
}
