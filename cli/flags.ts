/** `--name value`, `--name=value` and bare `--name` (which reads as "true"). */
export function parseFlags(args: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) throw new FlagError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    if (eq > 0) {
      flags.set(arg.slice(0, eq), arg.slice(eq + 1));
    } else if (i + 1 < args.length && !args[i + 1]!.startsWith('--')) {
      flags.set(arg, args[++i]!);
    } else {
      flags.set(arg, 'true');
    }
  }
  return flags;
}

export class FlagError extends Error {
  override readonly name = 'FlagError';
}
