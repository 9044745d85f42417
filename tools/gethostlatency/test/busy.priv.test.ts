// Privileged: gethostlatency attached, again and again, to a process whose four threads are already
// looping on getaddrinfo("localhost"): after every attach, every thread is reported. A call caught
// half-way by the attach must not leave per-thread state that silences its thread.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, skipPrivileged, startBusy, startTool, type BusyWorkload } from '@bpf-recipes/testing';

describe.skipIf(skipPrivileged())('gethostlatency attached to a busy resolver', () => {
  let busy: BusyWorkload;
  beforeAll(async () => {
    busy = await startBusy(fixture('busy-getaddrinfo', ['-pthread']), ['localhost', '4']);
  });
  afterAll(async () => {
    await busy?.stop();
  });

  it('5 attaches in a row: each time, all four threads report their getaddrinfo calls', async () => {
    expect(busy.tids).toHaveLength(4);
    for (let round = 1; round <= 5; round++) {
      const tool = await startTool('gethostlatency', ['--json', '-p', String(busy.pid)]);
      const perTid = () => {
        const n = new Map<number, number>(busy.tids.map((t) => [t, 0]));
        for (const l of tool.lines()) {
          const e = JSON.parse(l) as { tid: number; func: string; host: string; ret: number };
          if (e.func === 'getaddrinfo' && e.host === 'localhost' && e.ret === 0) n.set(e.tid, (n.get(e.tid) ?? 0) + 1);
        }
        return n;
      };
      for (let i = 0; i < 30 && [...perTid().values()].some((c) => c < 10); i++) await new Promise((r) => setTimeout(r, 100));
      await tool.stop();
      const silent = [...perTid()].filter(([, c]) => c < 10).map(([t]) => t);
      expect(silent, `round ${round}: threads with fewer than 10 calls reported (${JSON.stringify([...perTid()])})`).toEqual([]);
      expect([...perTid().keys()].sort()).toEqual([...busy.tids].sort());
    }
  }, 60000);
});
