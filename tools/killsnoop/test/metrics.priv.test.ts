// Privileged: killsnoop --metrics on the real kernel, scraped by a real Prometheus. The signals
// are counted in the kernel (sig_metrics, per CPU, next to the ring buffer's event) and read at
// the scrape; the events still print as usual. -n keeps only this test's sender.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Session, sessionOptions } from '@bpf-recipes/cli';
import { MetricsRegistry } from '@bpf-recipes/metrics';
import { PROMTOOL, fixture, freePort, heldPrograms, run, sample, skipPrivileged, startPrometheus, startTool } from '@bpf-recipes/testing';
import { metrics } from '../dist/src/tool.js'; // the built module: its object is dist/bpf's

const { open, register } = metrics;

const sleeper = (): ChildProcess & { done: Promise<unknown> } => {
  const c = spawn('sleep', ['60'], { stdio: 'ignore' }) as ChildProcess & { done: Promise<unknown> };
  c.done = new Promise((r) => c.on('close', (_code, sig) => r(sig)));
  return c;
};

describe.skipIf(skipPrivileged())('killsnoop --metrics', () => {
  it('signals_total by signal and result, exact, as Prometheus scrapes it; promtool has nothing to say', async () => {
    const kw = fixture('killsnoop-workload');
    const port = await freePort();
    const tool = await startTool('killsnoop', ['--json', '-n', 'killsnoop-work', '--metrics', `127.0.0.1:${port}`]);
    const prom = await startPrometheus({ killsnoop: `127.0.0.1:${port}` });
    let text: string;
    try {
      const victims = [sleeper(), sleeper(), sleeper(), sleeper()];
      for (const v of victims.slice(0, 3)) expect((await run(kw, ['kill', String(v.pid), '15'])).code).toBe(0);
      for (let i = 0; i < 2; i++) await run(kw, ['kill', '4194000', '15']); // ESRCH
      await run(kw, ['sigqueue', String(victims[3].pid), '37', '7']);
      await Promise.all(victims.map((v) => v.done));
      await tool.waitForLine(/rt_sigqueueinfo/);
      text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const s = (labels: string) => sample(text, `bpf_recipes_signals_total{${labels}}`);
      expect(s('signal="SIGTERM",result="ok"')).toBe(3);
      expect(s('signal="SIGTERM",result="ESRCH"')).toBe(2);
      expect(s('signal="SIGRTMIN+3",result="ok"')).toBe(1);
      expect(text.split('\n').filter((l) => l.startsWith('bpf_recipes_signals_total{'))).toHaveLength(3);
      expect(sample(text, 'bpf_recipes_build_info{tool="killsnoop",version="0.1.0"}')).toBe(1);
      expect(sample(text, 'bpf_recipes_events_lost_total{tool="killsnoop"}')).toBe(0);
      // the server's view: the target is up, and PromQL sums to the 6 signals sent
      const up = await prom.until('up{job="killsnoop"}', (r) => r.length === 1 && r[0].value[1] === '1');
      expect(up.map((r) => r.value[1])).toEqual(['1']);
      const total = await prom.until('sum(bpf_recipes_signals_total{job="killsnoop"})', (r) => r.length === 1 && r[0].value[1] === '6');
      expect(total.map((r) => r.value[1])).toEqual(['6']);
      const failed = await prom.query('sum by (result) (bpf_recipes_signals_total{job="killsnoop",result!="ok"})');
      expect(failed.map((r) => [r.metric.result, r.value[1]])).toEqual([['ESRCH', '2']]);
    } finally {
      await prom.stop();
      expect((await tool.stop('SIGINT')).code).toBe(0);
    }
    // the events, as ever: one line per signal
    expect(tool.lines().map((l) => JSON.parse(l).syscall).sort()).toEqual(['kill', 'kill', 'kill', 'kill', 'kill', 'rt_sigqueueinfo']);
    // no pid or comm label: only signal and result
    expect(text).not.toMatch(/^bpf_recipes_signals_total\{[^}]*(pid|comm|tpid)=/m);
    const lint = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.status).toBe(0);
  });

  it('with -a the result is the delivery result of each generated signal', async () => {
    const kw = fixture('killsnoop-workload');
    const port = await freePort();
    const tool = await startTool('killsnoop', ['-a', '--json', '-n', 'killsnoop-work', '-s', 'USR1,USR2', '--metrics', `127.0.0.1:${port}`]);
    try {
      const v = [sleeper(), sleeper()];
      await run(kw, ['kill', String(v[0].pid), '10']);
      await run(kw, ['kill', String(v[1].pid), '12']);
      await Promise.all(v.map((x) => x.done));
      await tool.waitForLine(/SIGUSR2/);
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(sample(text, 'bpf_recipes_signals_total{signal="SIGUSR1",result="delivered"}')).toBe(1);
      expect(sample(text, 'bpf_recipes_signals_total{signal="SIGUSR2",result="delivered"}')).toBe(1);
      expect(text.split('\n').filter((l) => l.startsWith('bpf_recipes_signals_total{'))).toHaveLength(2);
    } finally {
      expect((await tool.stop('SIGINT')).code).toBe(0);
    }
  });

  it('the exporter\'s open(): counts in the kernel with its options, sends no event at all', async () => {
    const kw = fixture('killsnoop-workload');
    const before = heldPrograms(process.pid).length;
    const session = new Session(sessionOptions('killsnoop', { name: 'killsnoop-work' }));
    const registry = new MetricsRegistry();
    try {
      const handles = open(session, { signal: 'TERM,USR1', failed: true });
      const skel = handles.skel;
      register(registry.addTool({ tool: 'killsnoop', version: '0.1.0', lost: () => session.lost() }), handles);
      let events = 0;
      session.follow(skel.maps.events, () => events++);
      const v = sleeper();
      await run(kw, ['kill', String(v.pid), '15']); // delivered: not a failure
      for (let i = 0; i < 3; i++) await run(kw, ['kill', '4194000', '15']); // ESRCH
      await run(kw, ['kill', '4194000', '12']); // ESRCH, but not a signal it counts
      await v.done;
      const { body } = await registry.scrape(false);
      expect(body.split('\n').filter((l) => l.startsWith('bpf_recipes_signals_total{'))).toEqual(['bpf_recipes_signals_total{signal="SIGTERM",result="ESRCH"} 3']);
      await session.detach();
      expect(events).toBe(0);
    } finally {
      registry.close();
      session.close();
    }
    expect(heldPrograms(process.pid).length).toBe(before);
  });
});
