// Privileged: opensnoop as a library (trace()), against the real kernel: the records the command
// prints, typed errors, break detaching, two traces at once.
import { closeSync, openSync, writeFileSync, rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AttachError, LoadError, PreflightError, UsageError, trace, type OpensnoopRecord } from '@bpf-recipes/opensnoop';
import { fixture, heldPrograms, run, skipPrivileged, startTool, uniquePath } from '@bpf-recipes/testing';

/** Records of `path` from a trace until `n` arrived (or the deadline passed). */
async function collect(t: AsyncIterable<OpensnoopRecord>, path: string, n: number, ms = 10000): Promise<OpensnoopRecord[]> {
  const got: OpensnoopRecord[] = [];
  const deadline = setTimeout(() => void (t as { close?: () => Promise<void> }).close?.(), ms);
  for await (const r of t) {
    if (r.path === path) got.push(r);
    if (got.length >= n) break;
  }
  clearTimeout(deadline);
  return got;
}

describe('the API exports typed errors', () => {
  it('UsageError, PreflightError, LoadError and AttachError are classes with their names', () => {
    for (const [C, name] of [[UsageError, 'UsageError'], [PreflightError, 'PreflightError'], [LoadError, 'LoadError'], [AttachError, 'AttachError']] as const) {
      expect(new (C as new (...a: never[]) => Error)(...(['x', 1] as never[])).name).toBe(name);
    }
  });
});

describe.skipIf(skipPrivileged())('opensnoop as a library', () => {
  it('a path opened 5 times: 5 records, field for field what opensnoop --json prints for them', async () => {
    const path = uniquePath('api');
    writeFileSync(path, 'x');
    try {
      const cli = await startTool('opensnoop', ['--json']);
      const t = trace();
      const w = run(fixture('workload'), ['open', path, '5']);
      const records = await collect(t, path, 5);
      expect((await w).code).toBe(0);
      expect(records).toHaveLength(5);
      await cli.waitForLine(new RegExp(path.replace(/[/.]/g, '\\$&')));
      expect((await cli.stop()).code).toBe(0);
      const lines = cli.lines().map((l) => JSON.parse(l) as OpensnoopRecord).filter((r) => r.path === path);
      expect(lines).toHaveLength(5);
      // each object times the call itself (its own sys_enter stamp): time and latency are the
      // two fields that may differ by a few µs; everything else is the same, in the same order
      const sansTimes = ({ time, latency_us, ...r }: OpensnoopRecord) => (void time, void latency_us, r);
      expect(records.map(sansTimes)).toEqual(lines.map(sansTimes));
      for (const r of records) {
        expect(r.pid).toBe((await w).pid);
        expect(r.fd).toBeGreaterThanOrEqual(3);
        expect(r.errno).toBeNull();
        expect(r.latency_us).toBeGreaterThan(0);
        expect(r.latency_us).toBeLessThan(1e6);
        expect(Math.abs(Date.parse(r.time) - Date.now())).toBeLessThan(60000);
      }
    } finally {
      rmSync(path, { force: true });
    }
  });

  it('break out of the loop detaches: no BPF program is left held by this process', async () => {
    const before = heldPrograms(process.pid).length;
    const t = trace();
    expect(heldPrograms(process.pid).length).toBeGreaterThan(before);
    const path = uniquePath('api-break');
    writeFileSync(path, 'x');
    try {
      const w = run(fixture('workload'), ['open', path, '3']);
      const got = await collect(t, path, 1);
      expect(got).toHaveLength(1);
      await w;
      expect(heldPrograms(process.pid).length).toBe(before);
      // the iteration is over
      expect((await t.next()).done).toBe(true);
    } finally {
      rmSync(path, { force: true });
    }
  });

  it('two traces at once, each with its own filter: failed opens only in the first, all in the second', async () => {
    const missing = uniquePath('api-missing');
    const present = uniquePath('api-present');
    writeFileSync(present, 'x');
    try {
      const failedOnly = trace({ failed: true });
      const all = trace();
      const w = await run(fixture('workload'), ['open', missing, '2']);
      const w2 = await run(fixture('workload'), ['open', present, '2']);
      expect([w.code, w2.code]).toEqual([0, 0]);
      const seen = async (t: ReturnType<typeof trace>) => {
        const out: OpensnoopRecord[] = [];
        setTimeout(() => void t.close(), 1000);
        for await (const r of t) if (r.path === missing || r.path === present) out.push(r);
        return out;
      };
      const [a, b] = await Promise.all([seen(failedOnly), seen(all)]);
      expect(a.map((r) => [r.path, r.errno])).toEqual([[missing, 'ENOENT'], [missing, 'ENOENT']]);
      expect(b.filter((r) => r.path === missing)).toHaveLength(2);
      expect(b.filter((r) => r.path === present && r.errno === null)).toHaveLength(2);
      expect(failedOnly.lost).toBe(0);
    } finally {
      rmSync(present, { force: true });
    }
  });

  it('bad options throw UsageError at once, with nothing attached', () => {
    const before = heldPrograms(process.pid).length;
    expect(() => trace({ pid: [0] })).toThrow(UsageError);
    expect(() => trace({ bufferSize: 3000 })).toThrow(/power of two/);
    expect(() => trace({ flagFilter: ['O_NOPE'] })).toThrow(UsageError);
    expect(heldPrograms(process.pid).length).toBe(before);
  });

  it('traces its own process when asked: pid naming the caller, or traceSelf; not by default', async () => {
    const own = uniquePath('api-self');
    const other = uniquePath('api-other');
    writeFileSync(own, 'x');
    writeFileSync(other, 'x');
    const openOwn = (n: number) => {
      for (let i = 0; i < n; i++) closeSync(openSync(own, 'r'));
    };
    try {
      // pid: [process.pid] → this process's own 3 opens, with its PID
      const byPid = trace({ pid: [process.pid] });
      openOwn(3);
      const mine = await collect(byPid, own, 3);
      expect(mine.map((r) => [r.pid, r.path, r.errno])).toEqual([1, 2, 3].map(() => [process.pid, own, null]));
      // traceSelf without a pid filter: this process's opens among everyone's
      const self = trace({ traceSelf: true });
      openOwn(2);
      expect((await collect(self, own, 2)).map((r) => r.pid)).toEqual([process.pid, process.pid]);
      // by default this process is left out: its opens before a workload's are never seen
      const plain = trace();
      openOwn(4);
      const w = run(fixture('workload'), ['open', other, '1']);
      const seen: OpensnoopRecord[] = [];
      const deadline = setTimeout(() => void plain.close(), 10000);
      for await (const r of plain) {
        if (r.path === own || r.path === other) seen.push(r);
        if (r.path === other) break;
      }
      clearTimeout(deadline);
      expect((await w).code).toBe(0);
      expect(seen.map((r) => r.path)).toEqual([other]);
    } finally {
      rmSync(own, { force: true });
      rmSync(other, { force: true });
    }
  });
});
