import { describe, expect, it } from 'vitest';
import { log2Buckets, MetricsRegistry } from '../src/index.js';

describe('log2Buckets', () => {
  it('makes cumulative buckets with le = 2^k units - 1 resolution, the last slot +Inf, no count lost', () => {
    // slot 0: value 0; slot k: [2^(k-1), 2^k); slot 3 the overflow slot here
    expect(log2Buckets([2, 0, 5, 1], { unit: 1e-6, resolution: 1e-9 })).toEqual([
      { le: 9.99e-7, count: 2 },
      { le: 1.999e-6, count: 2 },
      { le: 3.999e-6, count: 7 },
      { le: Infinity, count: 8 },
    ]);
    // exact whole units (bytes): le = 2^k - 1
    expect(log2Buckets([1, 1, 1, 0, 0], { unit: 1 }).map((b) => b.le)).toEqual([0, 1, 3, 7, Infinity]);
  });
  it('puts every value of a slot at or below its le, and none of the next slot', () => {
    // µs values truncated from ns, as syscount's kernel side does (lat / 1000)
    const slotOf = (us: number) => (us === 0 ? 0 : Math.floor(Math.log2(us)) + 1);
    const slots = new Array(12).fill(0);
    const ns = [0, 999, 1000, 1999, 2000, 3999, 4000, 7999, 8000, 1023999, 1024000];
    for (const v of ns) slots[slotOf(Math.floor(v / 1000))]++;
    const b = log2Buckets(slots, { unit: 1e-6, resolution: 1e-9 });
    for (const v of ns) {
      const k = slotOf(Math.floor(v / 1000));
      expect(v / 1e9).toBeLessThanOrEqual(b[k].le);
      if (k > 0) expect(v / 1e9).toBeGreaterThan(b[k - 1].le);
    }
    expect(b[b.length - 1].count).toBe(ns.length);
  });
});

describe('MetricsRegistry', () => {
  it('writes a log2 histogram with _sum and _count, counters, build_info and the lost count', async () => {
    let lost = 3;
    const reg = new MetricsRegistry();
    const m = reg.addTool({ tool: 'demo', version: '1.2.3', lost: () => lost });
    m.counter('things_total', 'things', () => [{ labels: { kind: 'a' }, value: 7 }]);
    m.log2Histogram('wait_seconds', 'waits', { unit: 1e-6, resolution: 1e-9 }, () => [{ labels: { op: 'x' }, slots: [1, 2, 0, 4], sum: 0.5 }]);
    const { body, contentType } = await reg.scrape(false);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(body).toContain('bpf_recipes_things_total{kind="a"} 7\n');
    expect(body).toContain('bpf_recipes_build_info{tool="demo",version="1.2.3"} 1\n');
    expect(body).toContain('bpf_recipes_events_lost_total{tool="demo"} 3\n');
    expect(body).toContain([
      'bpf_recipes_wait_seconds_bucket{op="x",le="9.99e-7"} 1',
      'bpf_recipes_wait_seconds_bucket{op="x",le="0.000001999"} 3',
      'bpf_recipes_wait_seconds_bucket{op="x",le="0.000003999"} 3',
      'bpf_recipes_wait_seconds_bucket{op="x",le="+Inf"} 7',
      'bpf_recipes_wait_seconds_sum{op="x"} 0.5',
      'bpf_recipes_wait_seconds_count{op="x"} 7',
    ].join('\n'));
    lost = 5; // read at scrape time
    const om = await reg.scrape(true);
    expect(om.contentType).toMatch(/^application\/openmetrics-text/);
    expect(om.body).toContain('# TYPE bpf_recipes_things counter\n');
    expect(om.body).toContain('bpf_recipes_events_lost_total{tool="demo"} 5\n');
    expect(om.body.endsWith('# EOF\n')).toBe(true);
    // the names are the Prometheus text's again after an OpenMetrics scrape
    expect((await reg.scrape(false)).body).toContain('# TYPE bpf_recipes_things_total counter\n');
  });
});
