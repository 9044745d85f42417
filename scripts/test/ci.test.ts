// CI does what a newcomer does: .ci/run runs the two commands of README.md's Quick start, literally
// and in that order, with CI=true; and those commands work in a root shell of a fresh machine.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The shell commands of README.md's Quick start: one per ```sh block, in order. */
function quickStart(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.match(/^## Quick start[^\n]*\n([\s\S]*?)(?=^## )/m)?.[1];
  expect(section, 'README.md has a "## Quick start" section').toBeDefined();
  return [...section!.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1].trim());
}

/** The commands .ci/run runs, in order: its lines that are not comments, blank, or shell settings. */
function ciCommands(): string[] {
  return readFileSync(join(root, '.ci', 'run'), 'utf8').split('\n').map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && !/^(set|cd|export) /.test(l));
}

describe('.ci/run and the README', () => {
  it('the Quick start is two single-line commands for a root shell, without sudo', () => {
    const [setup, test, ...rest] = quickStart();
    expect(rest).toEqual([]);
    for (const cmd of [setup, test]) {
      expect(cmd).not.toContain('\n');
      expect(cmd).not.toMatch(/\bsudo\b/); // not installed on a fresh Debian as root
    }
    expect(setup).toMatch(/^bash scripts\/setup\.sh(\s|$)/);
    expect(existsSync(join(root, 'scripts', 'setup.sh'))).toBe(true);
    // what it runs from node_modules/.bin is a command of one of the tools (npm ci links it)
    const bins = readdirSync(join(root, 'tools')).flatMap((t) =>
      Object.keys((JSON.parse(readFileSync(join(root, 'tools', t, 'package.json'), 'utf8')) as { bin?: object }).bin ?? {}));
    const used = [...setup.matchAll(/node_modules\/\.bin\/([\w-]+)/g)].map((m) => m[1]);
    expect(used.length).toBeGreaterThan(0);
    for (const b of used) expect(bins, b).toContain(b);
  });

  it('.ci/run runs the setup command, then the test command, literally, with CI=true', () => {
    const [setup, test] = quickStart();
    const script = readFileSync(join(root, '.ci', 'run'), 'utf8');
    expect(script).toMatch(/^export CI=true\b/m);
    const cmds = ciCommands();
    // the setup line runs in bash -c, so that a failure on either side of its && ends CI
    expect(cmds[0]).toBe(`bash -c '${setup}'`);
    expect(cmds[1]).toBe(test);
    // CI=true is set before both
    expect(script.indexOf('export CI=true')).toBeLessThan(script.indexOf(cmds[0]));
  });

  it('then the VM lanes, amd64 and then arm64, whose --timeouts fit CI\'s 90 minutes beside setup and npm test', () => {
    const lanes = ciCommands().slice(2);
    expect(lanes.map((l) => l.replace(/ --timeout \d+/, ''))).toEqual(['npm run test:vm --', 'npm run test:vm -- --arch arm64']);
    const timeouts = lanes.map((l) => Number(l.match(/ --timeout (\d+)/)?.[1]));
    for (const t of timeouts) expect(t).toBeGreaterThan(0);
    // setup (with the arm64 root made the first time) and npm test take ~21 minutes on a fresh
    // machine (docs/vm.md): 24 are kept for them, the lanes get the rest of the 90 at most
    expect(timeouts[0] + timeouts[1]).toBeLessThanOrEqual((90 - 24) * 60);
    // each lane's timeout leaves room for one stall (--stall's 300 s) and the retry it starts
    for (const t of timeouts) expect(t).toBeGreaterThanOrEqual(1500);
  });
});
