/** Positional words of a command line (stackcount's CATEGORY:EVENT, syslatency's SYSCALL...), taken out before the option parser, which accepts none. */
import { allOptions, type ToolSpec } from './tool.js';

/**
 * Split argv into options and positionals. Values of options that take one (`-p 1`, `--cgroup X`)
 * stay with their option; `--` and the command after it stay with the options (parseArgs takes them).
 */
export function splitPositionals(spec: ToolSpec, argv: readonly string[]): { options: string[]; positionals: string[] } {
  const table = allOptions(spec);
  const takesValue = new Set<string>();
  for (const [name, o] of Object.entries(table)) {
    if (o.type !== 'string') continue;
    takesValue.add(`--${name}`);
    if (o.alias) takesValue.add(`-${o.alias}`);
  }
  const options: string[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      options.push(...argv.slice(i));
      break;
    }
    if (a.startsWith('-') && a.length > 1) {
      options.push(a);
      if (takesValue.has(a) && i + 1 < argv.length) options.push(argv[++i]);
      continue;
    }
    positionals.push(a);
  }
  return { options, positionals };
}
