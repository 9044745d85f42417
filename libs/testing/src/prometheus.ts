/**
 * A real Prometheus server for metrics tests: Debian's binary (scripts/packages.txt) run directly
 * with a temp config and TSDB, on a free loopback port, scraping every second. It never touches
 * the system's prometheus.service (its own port, its own storage).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PROMETHEUS = '/usr/bin/prometheus';
export const PROMTOOL = '/usr/bin/promtool';

/** a server holding a loopback port (the kernel's pick) */
export const holdPort = (): Promise<Server> =>
  new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => res(s));
  });
export const portOf = (s: Server) => (s.address() as { port: number }).port;
/** a loopback port free at this moment */
export async function freePort(): Promise<number> {
  const s = await holdPort();
  const p = portOf(s);
  await new Promise((r) => s.close(r));
  return p;
}

/** the value of one sample line of a Prometheus text scrape */
export function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

export interface PromSample { metric: Record<string, string>; value: [number, string] }

export interface PrometheusServer {
  port: number;
  /** an instant PromQL query ([] until the server answers) */
  query(q: string): Promise<PromSample[]>;
  /** query until `done` holds for the result (or timeoutMs passes); the last result */
  until(q: string, done: (r: PromSample[]) => boolean, timeoutMs?: number): Promise<PromSample[]>;
  log(): string;
  stop(): Promise<void>;
}

/** A scrape job over https: Prometheus' scheme, tls_config and basic_auth of the job. */
export interface ScrapeTarget {
  target: string;
  scheme?: 'http' | 'https';
  tls?: { ca_file?: string; cert_file?: string; key_file?: string; server_name?: string };
  basicAuth?: { username: string; password: string };
}

/** Start Prometheus scraping `targets` (job name → HOST:PORT, or a ScrapeTarget) every second. */
export async function startPrometheus(targets: Record<string, string | ScrapeTarget>): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-prom-'));
  const port = await freePort();
  const job = (name: string, t: string | ScrapeTarget): string[] => {
    const o = typeof t === 'string' ? { target: t } : t;
    return [
      `  - job_name: ${name}`,
      ...(o.scheme ? [`    scheme: ${o.scheme}`] : []),
      ...(o.tls ? ['    tls_config:', ...Object.entries(o.tls).map(([k, v]) => `      ${k}: ${JSON.stringify(v)}`)] : []),
      ...(o.basicAuth ? ['    basic_auth:', `      username: ${JSON.stringify(o.basicAuth.username)}`, `      password: ${JSON.stringify(o.basicAuth.password)}`] : []),
      '    static_configs:',
      `      - targets: ['${o.target}']`,
    ];
  };
  writeFileSync(join(dir, 'prometheus.yml'), [
    'global:',
    '  scrape_interval: 1s',
    'scrape_configs:',
    ...Object.entries(targets).flatMap(([name, t]) => job(name, t)),
    '',
  ].join('\n'));
  let log = '';
  const prom: ChildProcess = spawn(PROMETHEUS, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  prom.stdout!.on('data', (d) => (log += d));
  prom.stderr!.on('data', (d) => (log += d));
  const closed = new Promise((r) => prom.on('close', r));
  const query = async (q: string): Promise<PromSample[]> => {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = (await res.json()) as { status: string; data: { result: PromSample[] } };
      return body.status === 'success' ? body.data.result : [];
    } catch {
      return []; // not listening yet
    }
  };
  return {
    port,
    query,
    async until(q, done, timeoutMs = 30000) {
      const end = Date.now() + timeoutMs;
      let r: PromSample[] = [];
      while (Date.now() < end) {
        r = await query(q);
        if (done(r)) break;
        await new Promise((res) => setTimeout(res, 500));
      }
      return r;
    },
    log: () => log,
    async stop() {
      if (prom.exitCode === null) {
        prom.kill('SIGTERM');
        await closed;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
