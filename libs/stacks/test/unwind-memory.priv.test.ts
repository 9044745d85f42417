// Privileged: the call-frame tables' memory bound (--unwind-memory) on the real kernel, with
// Debian's python3 and perl as the workloads (both burn a fixed amount of CPU time, so the number of
// samples does not depend on how busy the machine is):
//   - a file whose table is larger than the bound: every stack through it is cut there, marked
//     [incomplete user stack] and counted on stderr as cut for want of room — never walked on by
//     frame pointers into a wrong stack;
//   - a bound that holds python3's files or perl's but not both: when perl starts after python3
//     ended, the least recently used tables of files no live process maps (python3's) are evicted,
//     perl's are loaded, and perl's stacks are whole.
import { describe, expect, it } from 'vitest';
import { commandFiles } from '@bpf-recipes/core';
import { ElfFile, cfiTable } from '@bpf-recipes/symbols';
import { countOf as counts, foldedStacks as folded, run, skipPrivileged, toolBin } from '@bpf-recipes/testing';

const INCOMPLETE = '[incomplete user stack]';
const PY_BURN = 'import time\nwhile time.process_time() < 1.0: pass\n';
const PERL_BURN = 'my $x = 0; do { $x++ } while ((times)[0] < 1.0);';

/** The rows of the call-frame tables of `command`'s program and libraries (the tool's own count). */
function rowsOf(command: string): Map<string, number> {
  const files = commandFiles(command);
  if (!files) throw new Error(`${command}: not found`);
  const out = new Map<string, number>();
  for (const p of [files.program, ...files.libraries.map((l) => l.path)]) {
    const elf = ElfFile.open(p);
    try {
      out.set(p, cfiTable(elf).length);
    } finally {
      elf.close();
    }
  }
  return out;
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

describe.skipIf(skipPrivileged())('--unwind-memory: the call-frame tables bounded', () => {
  it("a file whose table is larger than the bound: python3's stacks cut at it and counted for want of room", async () => {
    const py = rowsOf('/usr/bin/python3');
    const program = commandFiles('/usr/bin/python3')!.program;
    // room for its libraries' tables, not for its program's
    const rows = sum(py) - py.get(program)! + 2000;
    expect(py.get(program)).toBeGreaterThan(rows);
    const kib = Math.floor((rows * 12) / 1024);
    const r = await run(toolBin('profile'), ['-U', '-F', '199', '--format', 'folded', '-v', '--unwind-memory', `${kib}K`, '--', '/usr/bin/python3', '-c', PY_BURN]);
    expect(r.code, r.stderr).toBe(0);
    const stacks = folded(r.stdout);
    const samples = counts(stacks, () => true);
    // 1 s of CPU at 199 Hz
    expect(samples, r.stdout).toBeGreaterThanOrEqual(50);
    // never walked past python3's frames by frame pointers: no stack reaches Py_RunMain
    expect(counts(stacks, (f) => f.includes('Py_RunMain')), r.stdout).toBe(0);
    const cut = counts(stacks, (f) => f.includes(INCOMPLETE));
    expect(cut, r.stdout).toBeGreaterThanOrEqual(samples * 0.9);
    const noted = /profile: (\d+) of those user stacks were cut at a file whose call-frame table did not fit in --unwind-memory \((\d+)K\)/.exec(r.stderr);
    expect(noted, r.stderr).not.toBeNull();
    expect(Number(noted![2])).toBe(kib);
    // every stack cut for want of room is one of the cut stacks printed (the others: startup, cut elsewhere)
    expect(Number(noted![1])).toBeGreaterThanOrEqual(samples * 0.9);
    expect(Number(noted![1])).toBeLessThanOrEqual(cut);
    expect(r.stderr).toContain(`unwind: ${program}: its table (${py.get(program)} rows, `);
    expect(r.stderr).toMatch(/\) is larger than --unwind-memory/);
    // -v's summary: the use of the rows, the file left out, the stacks cut for want of room
    expect(r.stderr).toMatch(new RegExp(`unwind: \\d+ files, \\d+ of ${Math.floor((kib * 1024) / 12)} rows \\([\\d.]+ of [\\d.]+ MiB: --unwind-memory\\), 1 files' tables not loaded \\(no room\\), 0 evicted, 0 loaded again; \\d+ stacks complete, \\d+ incomplete \\(${noted![1]} for want of room\\)`));
  });

  it("a bound for python3's files or perl's, not both: python3's evicted (least recently used, mapped by no live process) when perl starts, perl's stacks whole", async () => {
    const py = rowsOf('/usr/bin/python3');
    const perl = rowsOf('perl');
    const sh = rowsOf('sh');
    const program = commandFiles('/usr/bin/python3')!.program;
    const rows = Math.max(sum(new Map([...py, ...sh])), sum(new Map([...perl, ...sh]))) + 1000;
    // both sets together do not fit
    expect(sum(new Map([...py, ...perl, ...sh]))).toBeGreaterThan(rows);
    const kib = Math.ceil((rows * 12) / 1024);
    const r = await run(toolBin('profile'), [
      '-U', '-F', '199', '--format', 'folded', '-v', '--unwind-memory', `${kib}K`,
      '--', 'sh', '-c', `/usr/bin/python3 -c '${PY_BURN}'; perl -e '${PERL_BURN}'`,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const stacks = folded(r.stdout);
    // python3's stacks were whole while its tables were loaded
    const pyWhole = counts(stacks, (f) => f.includes('Py_RunMain') && f.includes('_start') && !f.includes(INCOMPLETE));
    expect(pyWhole, r.stdout).toBeGreaterThanOrEqual(50);
    // then its program's table made room for perl's
    expect(r.stderr).toMatch(new RegExp(`unwind: ${program.replace(/\./g, '\\.')}: its table \\(${py.get(program)} rows\\) evicted for \\S+'s \\(least recently used, mapped by no live process: last walked [\\d.]+ s ago\\)`));
    expect(r.stderr).toMatch(/unwind: \/usr\/bin\/perl: \d+ rows/);
    // perl's stacks whole down to _start after that
    const perlWhole = counts(stacks, (f) => f.includes('Perl_runops_standard') && f.includes('perl_run') && f.includes('_start') && !f.includes(INCOMPLETE));
    expect(perlWhole, r.stdout).toBeGreaterThanOrEqual(50);
    // nothing was cut for want of room
    expect(r.stderr).not.toMatch(/did not fit in --unwind-memory/);
    expect(r.stderr).toMatch(/unwind: \d+ files, .* [1-9]\d* evicted, .*\(0 for want of room\)/);
  });
});
