// Privileged: udplife --metrics on the real kernel, scraped by a real Prometheus. Released sockets
// are counted in the kernel (sock_metrics, per CPU, in the release program next to the ring
// buffer's event) and read at the scrape; the events still print as usual. -n keeps only this
// test's workload sockets.
import dgram from 'node:dgram';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Session, sessionOptions } from '@bpf-recipes/cli';
import { MetricsRegistry } from '@bpf-recipes/metrics';
import { PROMTOOL, fixture, freePort, heldPrograms, run, sample, skipPrivileged, startPrometheus, startTool } from '@bpf-recipes/testing';
import { metrics } from '../dist/src/tool.js'; // the built module: its object is dist/bpf's

const { open, register } = metrics;

describe.skipIf(skipPrivileged())('udplife --metrics', () => {
  const servers: dgram.Socket[] = [];
  let port4 = 0;
  let port6 = 0;
  const echo = (type: 'udp4' | 'udp6', addr: string) =>
    new Promise<number>((res) => {
      const s = dgram.createSocket(type);
      s.on('message', (m, r) => s.send(m, r.port, r.address));
      s.bind(0, addr, () => res(s.address().port));
      servers.push(s);
    });
  beforeAll(async () => {
    port4 = await echo('udp4', '127.0.0.1');
    port6 = await echo('udp6', '::1');
  });
  afterAll(() => servers.forEach((s) => s.close()));

  it('lifetimes (a histogram by family) and bytes by family and direction, exact, as Prometheus scrapes them; promtool has nothing to say', async () => {
    const uw = fixture('udplife-workload');
    const port = await freePort();
    const tool = await startTool('udplife', ['--json', '-n', 'udplife-work', '--metrics', `127.0.0.1:${port}`]);
    const prom = await startPrometheus({ udplife: `127.0.0.1:${port}` });
    let text: string;
    try {
      const a = await run(uw, ['connected', '4', String(port4), '1000', '4']);
      const b = await run(uw, ['connected', '4', String(port4), '100', '1']);
      const c = await run(uw, ['connected', '6', String(port6), '300', '3']);
      expect([a.code, b.code, c.code]).toEqual([0, 0, 0]);
      await tool.waitForLine(new RegExp(`"pid":${c.pid}`));
      text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const bytes = (labels: string) => sample(text, `bpf_recipes_udp_socket_bytes_total{${labels}}`);
      expect(bytes('family="ipv4",direction="tx"')).toBe(1100);
      expect(bytes('family="ipv4",direction="rx"')).toBe(1100);
      expect(bytes('family="ipv6",direction="tx"')).toBe(300);
      expect(bytes('family="ipv6",direction="rx"')).toBe(300);
      expect(sample(text, 'bpf_recipes_udp_socket_lifetime_seconds_count{family="ipv4"}')).toBe(2);
      expect(sample(text, 'bpf_recipes_udp_socket_lifetime_seconds_count{family="ipv6"}')).toBe(1);
      expect(sample(text, 'bpf_recipes_udp_socket_lifetime_seconds_bucket{family="ipv4",le="+Inf"}')).toBe(2);
      // the server's view: the target is up; PromQL adds up the bytes and the sockets
      const up = await prom.until('up{job="udplife"}', (r) => r.length === 1 && r[0].value[1] === '1');
      expect(up.map((r) => r.value[1])).toEqual(['1']);
      const total = await prom.until('sum(bpf_recipes_udp_socket_bytes_total{job="udplife"})', (r) => r.length === 1 && r[0].value[1] === '2800');
      expect(total.map((r) => r.value[1])).toEqual(['2800']);
      const sockets = await prom.query('sum(bpf_recipes_udp_socket_lifetime_seconds_count{job="udplife"})');
      expect(sockets.map((r) => r.value[1])).toEqual(['3']);
    } finally {
      await prom.stop();
      expect((await tool.stop('SIGINT')).code).toBe(0);
    }
    // the events, as ever; the histogram's sum is theirs (µs to 0.01 there), each in its bucket
    const events = tool.lines().map((l) => JSON.parse(l) as { family: string; duration_us: number });
    expect(events).toHaveLength(3);
    const v4 = events.filter((e) => e.family === 'ipv4');
    const sum = sample(text, 'bpf_recipes_udp_socket_lifetime_seconds_sum{family="ipv4"}')!;
    expect(Math.abs(sum - v4.reduce((s, e) => s + e.duration_us, 0) / 1e6)).toBeLessThan(2e-8);
    const buckets = text.split('\n').filter((l) => l.startsWith('bpf_recipes_udp_socket_lifetime_seconds_bucket{family="ipv4",'));
    expect(buckets).toHaveLength(32);
    for (const l of buckets) {
      const le = /le="([^"]+)"/.exec(l)![1];
      if (le === '+Inf') continue;
      const n = Number(l.split(' ')[1]);
      // (the printed µs are rounded to 0.01: a lifetime within 5 ns of a bound may print on its other side)
      expect(n, l).toBeGreaterThanOrEqual(v4.filter((e) => e.duration_us / 1e6 <= Number(le) - 1e-8).length);
      expect(n, l).toBeLessThanOrEqual(v4.filter((e) => e.duration_us / 1e6 <= Number(le) + 1e-8).length);
    }
    // no pid, comm, address or port label: only family (and direction)
    expect(text).not.toMatch(/^bpf_recipes_udp_\w+\{[^}]*(pid|comm|addr|port)=/m);
    const lint = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(lint.stdout + lint.stderr).toBe('');
    expect(lint.status).toBe(0);
  });

  it('a kernel without per-socket bytes (BPF_RECIPES_UDPLIFE_SOURCE=none): lifetimes, and no bytes series rather than zeros', async () => {
    const uw = fixture('udplife-workload');
    const port = await freePort();
    const tool = await startTool('udplife', ['--json', '-n', 'udplife-work', '--metrics', `127.0.0.1:${port}`], { env: { BPF_RECIPES_UDPLIFE_SOURCE: 'none' } });
    try {
      const a = await run(uw, ['connected', '4', String(port4), '10', '1']);
      await tool.waitForLine(new RegExp(`"pid":${a.pid}`));
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(sample(text, 'bpf_recipes_udp_socket_lifetime_seconds_count{family="ipv4"}')).toBe(1);
      expect(text).not.toMatch(/udp_socket_bytes_total/);
    } finally {
      expect((await tool.stop('SIGINT')).code).toBe(0);
    }
  });

  it('the exporter\'s open(): counts in the kernel with its options, sends no event at all', async () => {
    const uw = fixture('udplife-workload');
    const before = heldPrograms(process.pid).length;
    const session = new Session(sessionOptions('udplife', { name: 'udplife-work' }));
    const registry = new MetricsRegistry();
    try {
      const h = open(session, { remoteport: String(port6) });
      register(registry.addTool({ tool: 'udplife', version: '0.1.0', lost: () => session.lost() }), h);
      let events = 0;
      session.follow(h.skel.maps.events, () => events++);
      await run(uw, ['connected', '4', String(port4), '100', '1']); // another port: not counted
      await run(uw, ['connected', '6', String(port6), '300', '3']);
      const { body } = await registry.scrape(false);
      expect(sample(body, 'bpf_recipes_udp_socket_lifetime_seconds_count{family="ipv6"}')).toBe(1);
      expect(sample(body, 'bpf_recipes_udp_socket_bytes_total{family="ipv6",direction="tx"}')).toBe(300);
      expect(body).not.toMatch(/family="ipv4"/);
      await session.detach();
      expect(events).toBe(0);
    } finally {
      registry.close();
      session.close();
    }
    expect(heldPrograms(process.pid).length).toBe(before);
  });
});
