// The exporter's tools: each tool's typed metrics entry (`@bpf-recipes/<tool>/metrics`), imported
// as a package, never loaded from a dist file by path. Every tool that exports one is served, and
// which tools take metricsBy agrees with their command's spec (--metrics-by).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { METRICS } from '../src/metrics-entries.js';
import { TOOLS, toolDir, toolSpec } from '../src/tools.js';

const exportsOf = (tool: string) => (JSON.parse(readFileSync(join(toolDir(tool), 'package.json'), 'utf8')) as { exports?: Record<string, unknown> }).exports ?? {};

describe('the exporter imports each tool\'s metrics entry', () => {
  it('serves exactly the tools whose package exports ./metrics', () => {
    const withEntry = TOOLS.filter((t) => exportsOf(t)['./metrics'] !== undefined);
    expect(withEntry.length).toBeGreaterThanOrEqual(8);
    expect(Object.keys(METRICS).sort()).toEqual([...withEntry].sort());
  });

  it.each(Object.keys(METRICS))('%s: options typed for the config file, open() and register()', async (tool) => {
    const m = METRICS[tool];
    for (const [k, type] of Object.entries(m.options)) expect(['boolean', 'string', 'number'], `${tool}.${k}`).toContain(type);
    expect(typeof m.open).toBe('function');
    expect(typeof m.register).toBe('function');
    // metricsBy in the exporter config exactly where the command takes --metrics-by
    const spec = await toolSpec(tool);
    expect('metricsBy' in m.options, `${tool}: metricsBy`).toBe(Boolean(spec.metricsBy));
    expect('metricsTop' in m.options, `${tool}: metricsTop`).toBe(Boolean(spec.metricsBy));
  });

  it('opensnoop: the options its config takes', () => {
    expect(METRICS.opensnoop.options).toEqual({ failed: 'boolean', metricsBy: 'string', metricsTop: 'number' });
  });
});
