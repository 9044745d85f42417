/**
 * --metrics and the exporter: the Prometheus endpoint. Loaded only when --metrics is given (libs/cli
 * imports this package lazily), so prom-client costs nothing at an ordinary launch; prom-client
 * stays a package of its own (a dependency, never bundled into ours: README.md).
 *
 * Every series a tool adds is read from its kernel maps when a scrape asks (collect callbacks): no
 * work per event in user space. One registry per process: the tools' series, `bpf_recipes_build_info`
 * and `bpf_recipes_events_lost_total` per tool, and prom-client's default process metrics, all
 * under `bpf_recipes_`.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import client from 'prom-client';
import { BasicAuth, type TlsSettings, type WebConfigWatcher } from './web.js';

export { BasicAuth, WebConfigError, WebConfigWatcher, describeProtection, loadWebConfig, type WebSettings } from './web.js';

const { Registry, collectDefaultMetrics } = client;

export const PREFIX = 'bpf_recipes_';

export type Labels = Record<string, string>;
export interface Sample {
  labels?: Labels;
  value: number;
}

/** A log2 histogram as a kernel map holds it: counts per slot (recipes_log2_slot), and the exact sum. */
export interface Log2Snapshot {
  labels?: Labels;
  /** counts per slot; the last slot is the overflow slot (everything clamped into it) */
  slots: number[];
  /** the exact sum of the observed values, in base units (seconds, bytes) */
  sum: number;
}

export interface Bucket {
  le: number; // Infinity for the overflow slot
  count: number; // cumulative
}

/**
 * How the values of a log2 histogram were measured: one slot unit in base units (µs: 1e-6), and the
 * resolution of the measurement the unit values were truncated from (ns: 1e-9; the unit itself
 * when the values are exact whole units, such as bytes). unit / resolution and 1 / resolution
 * must be whole numbers.
 */
export interface Log2Scale {
  unit: number;
  resolution?: number;
}

/**
 * log2 slots → Prometheus buckets, no count lost. recipes_log2_slot() puts the value 0 in slot 0
 * and the values [2^(k-1), 2^k) in slot k, rounding down: a value of exactly 2^k units is in slot
 * k+1. A Prometheus bucket `le` counts every observation <= le, so the bound of slot k is the
 * largest value the measurement can take below 2^k units: `le = 2^k units - 1 resolution`
 * (syscount: µs slots of ns durations, le = 2^k µs - 1 ns, e.g. 9.99e-7, 1.999e-6, 3.999e-6 s).
 * The cumulative count at that le is then exactly the number of values <= le. The last slot (the
 * overflow one, where the kernel clamps larger values) becomes `+Inf`. Every finite bucket is
 * written (zeros too), so every series of a metric has the same boundaries; `_count` is the sum
 * of all slots.
 */
export function log2Buckets(slots: number[], scale: Log2Scale): Bucket[] {
  const perBase = Math.round(1 / (scale.resolution ?? scale.unit)); // resolution steps per base unit
  const perUnit = Math.round(scale.unit / (scale.resolution ?? scale.unit)); // resolution steps per slot unit
  const out: Bucket[] = [];
  let acc = 0;
  for (let k = 0; k < slots.length; k++) {
    acc += slots[k] ?? 0;
    // a division by a power of ten: the nearest double to the decimal bound, printed shortest
    out.push({ le: k === slots.length - 1 ? Infinity : (2 ** k * perUnit - 1) / perBase, count: acc });
  }
  return out;
}

interface MetricValue {
  value: number;
  labels?: Record<string, string | number>;
  metricName?: string;
}

/** A series family read at scrape time, in the shape prom-client's Registry formats. */
class CollectedMetric {
  readonly aggregator = 'sum';
  constructor(
    public name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    private readonly collect: () => MetricValue[],
  ) {}
  get() {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.collect() };
  }
  reset(): void {
    /* the kernel's totals are the state */
  }
}

const promLe = (le: number) => (le === Infinity ? '+Inf' : String(le));

/** One tool whose series a registry serves (the command: itself; the exporter: each it runs). */
export interface ToolInfo {
  tool: string;
  version: string;
  /** events lost so far (the tool's lost-event counters, Session.lost()), read at scrape time */
  lost: () => number;
}

/**
 * Where a tool registers its series: the contract of every tool's src/metrics.ts (README.md).
 * Names are given without the `bpf_recipes_` prefix; the callbacks run at scrape time and read
 * the kernel's maps (totals since attach), never anything kept per event in user space.
 */
export interface Metrics {
  /** a counter family (name ends in _total) */
  counter(name: string, help: string, collect: () => Sample[]): void;
  gauge(name: string, help: string, collect: () => Sample[]): void;
  /** a histogram from kernel log2 slots (log2Buckets gives the bounds) */
  log2Histogram(name: string, help: string, scale: Log2Scale, collect: () => Log2Snapshot[]): void;
  /** --metrics-by: reads the comm or cgroup id bytes of map keys and folds all but the top N into "other" */
  byFolder(o: MetricsBy): ByFolder;
}

/**
 * A tool's metrics entry: the `metrics` export of `@bpf-recipes/<tool>/metrics`, which the exporter
 * imports (typed, no file loaded by path) and whose register() `<tool> --metrics` calls too.
 * `Session` is libs/runtime's (this package does not depend on it); `O` the exporter config's
 * options for the tool, `H` what open() hands register().
 */
export interface ToolMetrics<Session, O extends object, H> {
  /** the exporter config's keys for this tool and their JSON types; metricsBy/metricsTop: it counts by comm or cgroup */
  readonly options: { readonly [K in keyof Required<O>]: 'boolean' | 'string' | 'number' };
  /** open, configure (counting in the kernel, no events sent), load and attach the tool on a session */
  open(session: Session, options: O): H;
  /** its series, read from the kernel's maps at scrape time */
  register(m: Metrics, handles: H): void;
}

/**
 * A process's Prometheus registry (prom-client): default process metrics, `build_info` and
 * `events_lost_total` for each tool added, the tools' own series, and the HTTP endpoint.
 */
export class MetricsRegistry implements Metrics {
  readonly registry = new Registry();
  private readonly tools: ToolInfo[] = [];
  private server?: Server | ReturnType<typeof createTlsServer>;
  private scraping: Promise<unknown> = Promise.resolve();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
    // gauges named like counters (promtool flags them); the per-type gauges without _total remain
    for (const n of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(PREFIX + n);
    this.gauge('build_info', 'the tool and its version (always 1)', () => this.tools.map((t) => ({ labels: { tool: t.tool, version: t.version }, value: 1 })));
    this.counter('events_lost_total', 'events the kernel could not hand to the tool (ring buffer full)', () =>
      this.tools.map((t) => ({ labels: { tool: t.tool }, value: t.lost() })));
  }

  /** Serve a tool's build_info and lost events; its own series go to the returned Metrics. */
  addTool(t: ToolInfo): Metrics {
    if (this.tools.some((x) => x.tool === t.tool)) throw new Error(`metrics: ${t.tool} is already served`);
    this.tools.push(t);
    return this;
  }

  private add(m: CollectedMetric): void {
    this.registry.registerMetric(m as never);
  }

  /** A counter family (name without the prefix, ending in _total), its samples read at scrape time. */
  counter(name: string, help: string, collect: () => Sample[]): void {
    if (!name.endsWith('_total')) throw new Error(`metrics: counter ${name} must end in _total`);
    this.add(new CollectedMetric(PREFIX + name, help, 'counter', () => collect().map((s) => ({ labels: s.labels ?? {}, value: s.value }))));
  }

  gauge(name: string, help: string, collect: () => Sample[]): void {
    this.add(new CollectedMetric(PREFIX + name, help, 'gauge', () => collect().map((s) => ({ labels: s.labels ?? {}, value: s.value }))));
  }

  byFolder(o: MetricsBy): ByFolder {
    return new ByFolder(o);
  }

  /** A histogram from kernel log2 slots (see log2Buckets for the bucket bounds). */
  log2Histogram(name: string, help: string, scale: Log2Scale, collect: () => Log2Snapshot[]): void {
    const full = PREFIX + name;
    this.add(new CollectedMetric(full, help, 'histogram', () => {
      const values: MetricValue[] = [];
      for (const h of collect()) {
        const labels = h.labels ?? {};
        const buckets = log2Buckets(h.slots, scale);
        for (const b of buckets) values.push({ metricName: `${full}_bucket`, labels: { ...labels, le: promLe(b.le) }, value: b.count });
        values.push({ metricName: `${full}_sum`, labels, value: h.sum });
        values.push({ metricName: `${full}_count`, labels, value: buckets.length ? buckets[buckets.length - 1].count : 0 });
      }
      return values;
    }));
  }

  /**
   * The exposition: OpenMetrics when asked for, Prometheus text otherwise. One scrape at a time:
   * prom-client renames counters (drops _total) while it writes OpenMetrics, and the names are
   * put back before the next scrape reads them.
   */
  scrape(openMetrics: boolean): Promise<{ contentType: string; body: string }> {
    const run = async () => {
      const reg = this.registry;
      if (!openMetrics) return { contentType: reg.contentType, body: await reg.metrics() };
      const names = reg.getMetricsAsArray().map((m) => [m, m.name] as const);
      reg.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
      try {
        return { contentType: reg.contentType, body: await reg.metrics() };
      } finally {
        for (const [m, n] of names) (m as { name: string }).name = n;
        reg.setContentType(Registry.PROMETHEUS_CONTENT_TYPE as never);
      }
    };
    const p = this.scraping.then(run, run);
    this.scraping = p.catch(() => undefined);
    return p;
  }

  private handle(req: IncomingMessage, res: ServerResponse, web?: WebConfigWatcher): void {
    const path = (req.url ?? '/').split('?')[0];
    const settings = web?.current();
    const send = (code: number, type: string, body: string, extra: Record<string, string> = {}) => {
      res.writeHead(code, { ...settings?.headers, ...extra, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (!settings) return this.serve(req, res, path, send);
    if (settings.tls && !this.clientAllowed(req.socket as TLSSocket, settings.tls)) return send(403, 'text/plain; charset=utf-8', 'client certificate not accepted\n');
    if (settings.rateLimit && !this.takeToken(settings.rateLimit)) return send(429, 'text/plain; charset=utf-8', 'too many requests\n');
    this.auth.check(settings.users, req.headers.authorization).then(
      (ok) => (ok ? this.serve(req, res, path, send) : send(401, 'text/plain; charset=utf-8', 'Unauthorized\n', { 'WWW-Authenticate': 'Basic' })),
      (e) => send(500, 'text/plain; charset=utf-8', `auth failed: ${(e as Error).message}\n`),
    );
  }

  private readonly auth = new BasicAuth();
  private bucket?: { tokens: number; at: number };

  /** rate_limit: a token bucket, one token per interval, at most burst */
  private takeToken(r: { intervalMs: number; burst: number }): boolean {
    const now = Date.now();
    const b = (this.bucket ??= { tokens: r.burst, at: now });
    b.tokens = Math.min(r.burst, b.tokens + (now - b.at) / r.intervalMs);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /**
   * The client certificate policies Node's TLS does not enforce by itself (it verifies a given
   * certificate only with rejectUnauthorized): RequireAnyClientCert needs one, VerifyClientCertIfGiven
   * one that verifies if given, client_allowed_sans one of the SANs.
   */
  private clientAllowed(sock: TLSSocket, tls: TlsSettings): boolean {
    if (tls.clientAuth === 'NoClientCert' || tls.clientAuth === 'RequestClientCert') return true;
    const cert = sock.getPeerCertificate?.();
    const given = Boolean(cert && Object.keys(cert).length);
    if (tls.clientAuth === 'VerifyClientCertIfGiven') return !given || sock.authorized;
    if (!given) return false;
    if (tls.clientAuth === 'RequireAndVerifyClientCert' && !sock.authorized) return false;
    if (!tls.allowedSans.length) return true;
    const sans = (cert.subjectaltname ?? '').split(/,\s*/).map((s) => s.replace(/^(DNS|IP Address|email|URI):/, ''));
    return tls.allowedSans.some((a) => sans.includes(a));
  }

  private serve(req: IncomingMessage, res: ServerResponse, path: string, send: (code: number, type: string, body: string) => void): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain; charset=utf-8', 'only GET\n');
    if (path === '/') {
      return send(200, 'text/html; charset=utf-8', '<html><head><title>bpf-recipes</title></head><body><a href="/metrics">Metrics</a></body></html>\n');
    }
    if (path !== '/metrics') return send(404, 'text/plain; charset=utf-8', 'not found: try /metrics\n');
    const om = /application\/openmetrics-text/.test(req.headers.accept ?? '');
    this.scrape(om).then(
      (r) => send(200, r.contentType, r.body),
      (e) => send(500, 'text/plain; charset=utf-8', `scrape failed: ${(e as Error).message}\n`),
    );
  }

  /**
   * Serve on host:port. A port in use, or an address not of this machine, rejects with a one-line
   * Error (the caller makes it its runtime error, exit 1: this package stays free of core, which a
   * CommonJS tool and this ES module would otherwise load twice).
   */
  listen(host: string, port: number, web?: WebConfigWatcher): Promise<{ host: string; port: number }> {
    const tls = web?.settings.tls;
    const server = tls ? createTlsServer({ ...tls.context, ...tlsPolicy(tls) }, (req, res) => this.handle(req, res, web)) : createServer((req, res) => this.handle(req, res, web));
    if (web) {
      // a changed file is read before the handshake that follows it (prepended: before the TLS server
      // makes the connection's socket from its current context)
      server.prependListener('connection', () => web.current());
      web.onChange = (s) => {
        if (!s.tls || !(server as { setSecureContext?: unknown }).setSecureContext) return;
        const https = server as ReturnType<typeof createTlsServer>;
        https.setSecureContext(s.tls.context);
        Object.assign(https, tlsPolicy(s.tls));
      };
    }
    // a slow or stuck client cannot hold the process: short timeouts, few connections
    server.headersTimeout = 5000;
    server.requestTimeout = 10000;
    server.keepAliveTimeout = 5000;
    server.maxConnections = 32;
    return new Promise((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => {
        const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
        const why: Record<string, string> = {
          EADDRINUSE: `${where} is already in use (give another port)`,
          EACCES: `no permission to listen on ${where} (ports below 1024 need privileges)`,
          EADDRNOTAVAIL: `${host} is not an address of this machine (give one of its own, or 0.0.0.0 for every interface)`,
          ENOTFOUND: `host '${host}' cannot be resolved (give an IP address)`,
        };
        reject(new Error(`--metrics: ${why[e.code ?? ''] ?? `cannot listen on ${where}: ${e.message}`}`));
      });
      server.listen({ host, port, exclusive: true }, () => {
        this.server = server;
        const a = server.address();
        resolve(typeof a === 'object' && a ? { host: a.address, port: a.port } : { host, port });
      });
    });
  }

  close(): void {
    this.server?.close();
    this.server?.closeAllConnections?.();
  }
}

/** Whether Node's TLS asks for a client certificate, and fails the handshake when one does not verify. */
function tlsPolicy(t: TlsSettings): { requestCert: boolean; rejectUnauthorized: boolean } {
  return { requestCert: t.clientAuth !== 'NoClientCert', rejectUnauthorized: t.clientAuth === 'RequireAndVerifyClientCert' };
}

/**
 * --metrics-by comm|cgroup with --metrics-top N (bpf-headers recipes_metrics_by.h): a tool's per-CPU
 * counter map is keyed by 16 more bytes, the comm or the cgroup v2 id; at scrape time the values
 * are ranked by their total, the top N keep their label and the rest are summed into "other".
 */
export interface MetricsBy {
  /** container: the cgroup id in the kernel, its path parsed to container_id and pod_uid (containerOf) */
  by: 'comm' | 'cgroup' | 'container';
  /** how many comms or cgroups keep their own label (--metrics-top, default 20) */
  top: number;
}


/** cgroup v2 id → its path under the cgroup2 mount ("/" the root), by walking the mount. */
export class CgroupPaths {
  private paths = new Map<bigint, string>();
  private walkedAt = -1;
  private generation = 0;
  constructor(private readonly mount = cgroup2MountPoint()) {}

  /** one walk at most per scrape (next() starts a scrape); ids unknown after it are shown as numbers */
  next(): void {
    this.generation++;
  }

  path(id: bigint): string {
    let p = this.paths.get(id);
    if (p === undefined && this.walkedAt !== this.generation && this.mount) {
      this.walkedAt = this.generation;
      this.paths = walkCgroups(this.mount);
      p = this.paths.get(id);
    }
    return p ?? `id:${id}`;
  }
}

function cgroup2MountPoint(): string | undefined {
  try {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const [pre, post] = line.split(' - ');
      if (post?.startsWith('cgroup2 ')) return pre.split(' ')[4].replace(/\\040/g, ' ');
    }
  } catch {
    /* no /proc: ids stay numbers */
  }
  return undefined;
}

function walkCgroups(mount: string): Map<bigint, string> {
  const out = new Map<bigint, string>();
  const visit = (dir: string, rel: string) => {
    try {
      out.set(statSync(dir, { bigint: true }).ino, rel || '/');
      for (const d of readdirSync(dir, { withFileTypes: true })) if (d.isDirectory()) visit(`${dir}/${d.name}`, `${rel}/${d.name}`);
    } catch {
      /* removed while walked */
    }
  };
  visit(mount, '');
  return out;
}

/** One counted row of a by-keyed map: its by value (comm or cgroup label), its other labels, its values. */
export interface ByRow {
  by: string;
  labels: Labels;
  values: number[];
}

/**
 * Reads the by bytes of map keys and folds rows: the top N by values (ranked by the sum of
 * values[0] over their rows, ties by name) keep their label, the others become "other", rows of
 * equal labels summed. The label is named as the option (comm or cgroup).
 */
export class ByFolder {
  readonly cgroups?: CgroupPaths;
  constructor(readonly o: MetricsBy) {
    if (o.by !== 'comm') this.cgroups = new CgroupPaths();
  }

  /** call once at the start of each scrape (a cgroup walk at most once per scrape) */
  scrape(): void {
    this.cgroups?.next();
  }

  /** the label value of the 16 by bytes at key[off..] */
  label(key: Buffer, off: number): string {
    if (this.o.by === 'comm') {
      const end = key.indexOf(0, off);
      return key.toString('utf8', off, end < 0 || end > off + 16 ? off + 16 : end);
    }
    const path = this.cgroups!.path(key.readBigUInt64LE(off));
    if (this.o.by === 'cgroup') return path;
    const c = containerOf(path);
    return `${c.containerId}\0${c.podUid}`;
  }

  /** the labels of a by value: { comm } or { cgroup }, or container_id and pod_uid ("other": both) */
  private labels(by: string): Labels {
    if (this.o.by !== 'container') return { [this.o.by]: by };
    if (by === 'other') return { container_id: 'other', pod_uid: 'other' };
    const [containerId, podUid] = by.split('\0');
    return { container_id: containerId, pod_uid: podUid ?? '' };
  }

  fold(rows: ByRow[]): ByRow[] {
    const total = new Map<string, number>();
    for (const r of rows) total.set(r.by, (total.get(r.by) ?? 0) + (r.values[0] ?? 0));
    const kept = new Set([...total].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, this.o.top).map(([k]) => k));
    const out = new Map<string, ByRow>();
    for (const r of rows) {
      const by = kept.has(r.by) ? r.by : 'other';
      const labels = { ...r.labels, ...this.labels(by) };
      const id = JSON.stringify(labels);
      const have = out.get(id);
      if (have) have.values = have.values.map((v, i) => v + (r.values[i] ?? 0));
      else out.set(id, { by, labels, values: [...r.values] });
    }
    return [...out.values()];
  }
}

/** The container and pod a cgroup v2 path belongs to; empty strings for a host task. */
export interface ContainerLabels {
  containerId: string;
  podUid: string;
}

/** a container's scope under systemd: the runtime's prefix and the 64-hex id (not conmon's scopes) */
const SCOPE = /^(?:cri-containerd|crio|docker|libpod)-([0-9a-f]{64})\.scope$/;
const ID = /^[0-9a-f]{64}$/;
/** kubelet's pod cgroup: systemd driver kubepods[-<qos>]-pod<uid with _>.slice, cgroupfs pod<uid> */
const POD_SLICE = /^kubepods(?:-[a-z]+)?-pod([0-9a-f_]{36})\.slice$/;
const POD_DIR = /^pod([0-9a-f-]{36})$/;

/**
 * container_id and pod_uid from a cgroup path, for the layouts kubelet and the runtimes make:
 * - kubelet, systemd driver: /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice/cri-containerd-<id>.scope
 *   (the pod's UID with _ for -; crio-<id>.scope under CRI-O), also kubepods-pod<uid>.slice (Guaranteed);
 * - kubelet, cgroupfs driver: /kubepods/burstable/pod<uid>/<id>, /kubepods/pod<uid>/<id>;
 * - Docker and Podman: docker-<id>.scope, libpod-<id>.scope (systemd), /docker/<id>, /libpod_parent/libpod-<id> (cgroupfs).
 * The innermost component that names a container wins (a container's own sub-cgroups stay its own);
 * conmon's scopes (crio-conmon-, libpod-conmon-) are not containers. A host task: both empty.
 */
export function containerOf(path: string): ContainerLabels {
  let containerId = '';
  let podUid = '';
  const parts = path.split('/').filter(Boolean);
  for (const [i, p] of parts.entries()) {
    const scope = SCOPE.exec(p) ?? /^libpod-([0-9a-f]{64})$/.exec(p);
    if (scope) containerId = scope[1];
    else if (ID.test(p) && i > 0 && (POD_DIR.test(parts[i - 1]) || parts[i - 1] === 'docker')) containerId = p;
    const pod = POD_SLICE.exec(p) ?? POD_DIR.exec(p);
    if (pod && (POD_SLICE.test(p) || parts.slice(0, i).includes('kubepods'))) podUid = pod[1].replace(/_/g, '-');
  }
  return { containerId, podUid };
}
