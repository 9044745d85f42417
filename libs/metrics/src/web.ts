/**
 * --web-config FILE: TLS, basic auth and response headers of the metrics endpoint, in the format of
 * Prometheus' exporter-toolkit (`--web.config.file`), so a fleet reuses the file its other exporters
 * read. YAML (the `yaml` package), bcrypt hashes checked by `bcryptjs`.
 *
 * Read once before anything is bound (a bad file, an unreadable certificate or a hash that is not
 * bcrypt: a WebConfigError, one line, which the caller makes its usage error), then again whenever
 * the file or a certificate it names changes (stat at every connection and request: a rotated
 * certificate is served from the next handshake on, without a restart). A change that does not load
 * keeps the last good settings, and says why once.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import type { SecureContextOptions } from 'node:tls';

// loaded on first use: only a --web-config pays for them (yaml's parser costs as much to load as prom-client)
// (each a createRequire call with the package's name in it: scripts/pack.mjs reads that as a run-time dependency)
const yaml = () => createRequire(import.meta.url)('yaml') as typeof import('yaml');
const bcrypt = () => createRequire(import.meta.url)('bcryptjs') as typeof import('bcryptjs');

export class WebConfigError extends Error {}

export type ClientAuth = 'NoClientCert' | 'RequestClientCert' | 'RequireAnyClientCert' | 'VerifyClientCertIfGiven' | 'RequireAndVerifyClientCert';
const CLIENT_AUTH: ClientAuth[] = ['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'];
const VERSIONS: Record<string, 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3'> = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' };
/** Go's names of the TLS 1.2 suites (crypto/tls CipherSuites()) → OpenSSL's */
const CIPHERS: Record<string, string> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
};
const CURVES: Record<string, string> = { CurveP256: 'P-256', CurveP384: 'P-384', CurveP521: 'P-521', X25519: 'X25519' };
/** the response headers the format lets a file set, and the values it accepts where it limits them */
const HEADERS: Record<string, RegExp | undefined> = {
  'Content-Security-Policy': undefined,
  'X-Frame-Options': /^(deny|sameorigin)$/i,
  'X-Content-Type-Options': /^nosniff$/i,
  'X-XSS-Protection': undefined,
  'Strict-Transport-Security': undefined,
};
/** bcrypt's modular crypt format: $2a$, $2b$, $2x$ or $2y$, a two-digit cost, 22 characters of salt and 31 of hash */
const BCRYPT = /^\$2[abxy]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

export interface TlsSettings {
  /** what the server's secure context is made of (cert, key, ca, versions, ciphers, curves) */
  context: SecureContextOptions;
  clientAuth: ClientAuth;
  /** SANs of which a client certificate must carry one (client_allowed_sans), empty for any */
  allowedSans: string[];
}

export interface WebSettings {
  tls?: TlsSettings;
  /** user → bcrypt hash; empty: no basic auth */
  users: Map<string, string>;
  headers: Record<string, string>;
  /** token bucket: one token per intervalMs, at most burst; undefined: no limit */
  rateLimit?: { intervalMs: number; burst: number };
  /** the files read (the config and what it names), for noticing a change */
  files: string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function only(o: Obj, where: string, keys: string[]): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw new WebConfigError(`${where}: unknown key '${k}' (it takes ${keys.join(', ')})`);
}
function str(o: Obj, k: string, where: string): string | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new WebConfigError(`${where}.${k} must be a string`);
  return v;
}
function strList(o: Obj, k: string, where: string): string[] {
  const v = o[k];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new WebConfigError(`${where}.${k} must be a list of strings`);
  return v as string[];
}

/** "30s", "1m", "500ms", "0" → ms (Prometheus' duration syntax, the units a rate limit needs) */
function durationMs(v: unknown, where: string): number {
  const s = String(v ?? '');
  if (s === '0') return 0;
  const m = /^(\d+)(ms|s|m|h)$/.exec(s);
  if (!m) throw new WebConfigError(`${where}: '${s}' is not a duration (e.g. 1s, 500ms, 0 to turn the limit off)`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60000, h: 3600000 }[m[2] as 'ms']!;
}

/**
 * Read and check a web config file: every error is a WebConfigError with one line naming the file,
 * the key and the fix. Paths in it are relative to the file's directory (as exporter-toolkit reads them).
 */
export function loadWebConfig(path: string): WebSettings {
  const at = (k: string) => `${path}: ${k}`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new WebConfigError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const doc = yaml().parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length) throw new WebConfigError(`${path} is not YAML: ${doc.errors[0].message.split('\n')[0]}`);
  const c: unknown = doc.toJS() ?? {};
  if (!isObj(c)) throw new WebConfigError(`${path}: expected a mapping with tls_server_config, http_server_config, basic_auth_users, rate_limit`);
  only(c, path, ['tls_server_config', 'http_server_config', 'basic_auth_users', 'rate_limit']);
  const dir = dirname(resolve(path));
  const files = [resolve(path)];
  const read = (key: string, file: string, what: string): Buffer => {
    const p = resolve(dir, file);
    files.push(p);
    try {
      return readFileSync(p);
    } catch (e) {
      throw new WebConfigError(`${at(key)}: cannot read the ${what} ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };

  let tls: TlsSettings | undefined;
  const t = c.tls_server_config;
  if (t !== undefined && t !== null) {
    const w = 'tls_server_config';
    if (!isObj(t)) throw new WebConfigError(`${at(w)} must be a mapping`);
    only(t, at(w), ['cert', 'key', 'client_ca', 'cert_file', 'key_file', 'client_auth_type', 'client_ca_file', 'client_allowed_sans',
      'min_version', 'max_version', 'cipher_suites', 'prefer_server_cipher_suites', 'curve_preferences']);
    const both = (inline: string, file: string, what: string): Buffer | undefined => {
      const i = str(t, inline, at(w));
      const f = str(t, file, at(w));
      if (i && f) throw new WebConfigError(`${at(w)}: give ${inline} or ${file}, not both`);
      return i ? Buffer.from(i) : f ? read(`${w}.${file}`, f, what) : undefined;
    };
    const cert = both('cert', 'cert_file', 'certificate');
    const key = both('key', 'key_file', 'key');
    const ca = both('client_ca', 'client_ca_file', 'client CA certificate');
    const clientAuth = (str(t, 'client_auth_type', at(w)) ?? 'NoClientCert') as ClientAuth;
    if (!CLIENT_AUTH.includes(clientAuth)) throw new WebConfigError(`${at(w)}.client_auth_type: '${clientAuth}' is not one of ${CLIENT_AUTH.join(', ')}`);
    const allowedSans = strList(t, 'client_allowed_sans', at(w));
    if (cert || key || ca || t.client_auth_type !== undefined) {
      if (!cert) throw new WebConfigError(`${at(w)}: cert_file is missing (the server's certificate, PEM)`);
      if (!key) throw new WebConfigError(`${at(w)}: key_file is missing (the certificate's private key, PEM)`);
      if (ca && clientAuth === 'NoClientCert') throw new WebConfigError(`${at(w)}: client_ca_file is set but client_auth_type is NoClientCert (set RequireAndVerifyClientCert to check client certificates)`);
      if (!ca && (clientAuth === 'RequireAndVerifyClientCert' || clientAuth === 'VerifyClientCertIfGiven')) {
        throw new WebConfigError(`${at(w)}: client_auth_type ${clientAuth} needs client_ca_file (the CA that signs the clients' certificates)`);
      }
      if (allowedSans.length && clientAuth !== 'RequireAnyClientCert' && clientAuth !== 'RequireAndVerifyClientCert') {
        throw new WebConfigError(`${at(w)}: client_allowed_sans needs client_auth_type RequireAndVerifyClientCert (or RequireAnyClientCert)`);
      }
      const version = (k: string, dflt: string) => {
        const v = str(t, k, at(w)) ?? dflt;
        if (!VERSIONS[v]) throw new WebConfigError(`${at(w)}.${k}: '${v}' is not one of ${Object.keys(VERSIONS).join(', ')}`);
        return VERSIONS[v];
      };
      const context: SecureContextOptions = { cert, key, minVersion: version('min_version', 'TLS12'), maxVersion: version('max_version', 'TLS13') };
      if (context.minVersion! > context.maxVersion!) throw new WebConfigError(`${at(w)}: min_version is above max_version`);
      if (ca) context.ca = ca;
      const suites = strList(t, 'cipher_suites', at(w));
      for (const s of suites) if (!CIPHERS[s]) throw new WebConfigError(`${at(w)}.cipher_suites: '${s}' is not supported (one of ${Object.keys(CIPHERS).join(', ')})`);
      if (suites.length) context.ciphers = suites.map((s) => CIPHERS[s]).join(':');
      const curves = strList(t, 'curve_preferences', at(w));
      for (const s of curves) if (!CURVES[s]) throw new WebConfigError(`${at(w)}.curve_preferences: '${s}' is not one of ${Object.keys(CURVES).join(', ')}`);
      if (curves.length) context.ecdhCurve = curves.map((s) => CURVES[s]).join(':');
      const prefer = t.prefer_server_cipher_suites;
      if (prefer !== undefined && typeof prefer !== 'boolean') throw new WebConfigError(`${at(w)}.prefer_server_cipher_suites must be true or false`);
      context.honorCipherOrder = prefer !== false;
      tls = { context, clientAuth, allowedSans };
    }
  }

  const headers: Record<string, string> = {};
  const h = c.http_server_config;
  if (h !== undefined && h !== null) {
    const w = 'http_server_config';
    if (!isObj(h)) throw new WebConfigError(`${at(w)} must be a mapping`);
    only(h, at(w), ['http2', 'headers']);
    if (h.http2 !== undefined && typeof h.http2 !== 'boolean') throw new WebConfigError(`${at(w)}.http2 must be true or false`);
    if (h.headers !== undefined && h.headers !== null) {
      if (!isObj(h.headers)) throw new WebConfigError(`${at(w)}.headers must be a mapping of header → value`);
      for (const [k, v] of Object.entries(h.headers)) {
        if (!(k in HEADERS)) throw new WebConfigError(`${at(w)}.headers: ${k} cannot be set (only ${Object.keys(HEADERS).join(', ')})`);
        if (typeof v !== 'string') throw new WebConfigError(`${at(w)}.headers.${k} must be a string`);
        if (v && HEADERS[k] && !HEADERS[k]!.test(v)) throw new WebConfigError(`${at(w)}.headers.${k}: '${v}' is not allowed (${HEADERS[k]!.source.replace(/[\^$()]/g, '').replace(/\|/g, ' or ')})`);
        if (v) headers[k] = v;
      }
    }
  }

  const users = new Map<string, string>();
  const u = c.basic_auth_users;
  if (u !== undefined && u !== null) {
    if (!isObj(u)) throw new WebConfigError(`${at('basic_auth_users')} must be a mapping of user → bcrypt hash`);
    for (const [name, hash] of Object.entries(u)) {
      const m = typeof hash === 'string' ? BCRYPT.exec(hash) : null;
      if (!m || Number(m[1]) < 4 || Number(m[1]) > 31) {
        throw new WebConfigError(`${at('basic_auth_users')}.${name}: not a bcrypt hash (make one with: htpasswd -nBC 10 "" | tr -d ':\\n')`);
      }
      users.set(name, hash as string);
    }
  }

  let rateLimit: WebSettings['rateLimit'];
  const r = c.rate_limit;
  if (r !== undefined && r !== null) {
    if (!isObj(r)) throw new WebConfigError(`${at('rate_limit')} must be a mapping with interval and burst`);
    only(r, at('rate_limit'), ['interval', 'burst']);
    const intervalMs = durationMs(r.interval, at('rate_limit.interval'));
    const burst = r.burst ?? 0;
    if (typeof burst !== 'number' || !Number.isInteger(burst) || burst < 0) throw new WebConfigError(`${at('rate_limit.burst')} must be a whole number`);
    if (intervalMs > 0) {
      if (burst < 1) throw new WebConfigError(`${at('rate_limit.burst')} must be at least 1 with an interval`);
      rateLimit = { intervalMs, burst };
    }
  }
  return { tls, users, headers, rateLimit, files };
}

/** One line saying what the settings protect and what they leave open (the --allow-remote warning). */
export function describeProtection(s: WebSettings | undefined): string {
  if (!s || (!s.tls && !s.users.size)) return 'no TLS and no basic auth (no --web-config): anyone who reaches the port reads the metrics, in plain text';
  const parts: string[] = [];
  if (s.tls) {
    parts.push('TLS (the metrics and any password travel encrypted)');
    if (s.tls.clientAuth === 'RequireAndVerifyClientCert') parts.push(`client certificates required and verified${s.tls.allowedSans.length ? `, SANs ${s.tls.allowedSans.join(', ')}` : ''}`);
  } else parts.push('no TLS: the metrics and the basic-auth password cross the network in plain text');
  parts.push(s.users.size ? `basic auth (${s.users.size} user${s.users.size === 1 ? '' : 's'})` : 'no basic auth');
  if (s.tls && s.tls.clientAuth !== 'RequireAndVerifyClientCert') parts.push('client certificates not verified');
  return parts.join('; ');
}

/** When the file (or a certificate it names) changed: its identity, size and mtime. */
function stamp(files: string[]): string {
  return files.map((f) => {
    try {
      const s = statSync(f, { bigint: true });
      return `${s.ino}:${s.size}:${s.mtimeNs}`;
    } catch {
      return 'gone';
    }
  }).join('/');
}

/**
 * The settings as served: loaded at start (throws WebConfigError), then again when a file changes.
 * `current()` costs a few stat(2) calls; `onChange` applies new TLS settings to the server.
 */
export class WebConfigWatcher {
  settings: WebSettings;
  private stamp: string;
  private failedStamp?: string;
  onChange?: (s: WebSettings) => void;

  constructor(readonly path: string, private readonly note: (line: string) => void) {
    this.settings = loadWebConfig(path);
    this.stamp = stamp(this.settings.files);
  }

  current(): WebSettings {
    const now = stamp(this.settings.files);
    if (now === this.stamp || now === this.failedStamp) return this.settings;
    try {
      const next = loadWebConfig(this.path);
      if (Boolean(next.tls) !== Boolean(this.settings.tls)) throw new WebConfigError(`${this.path}: turning TLS ${next.tls ? 'on' : 'off'} needs a restart`);
      this.settings = next;
      this.stamp = stamp(next.files);
      this.failedStamp = undefined;
      this.onChange?.(next);
      this.note(`--web-config: ${this.path} read again${next.tls ? ' (certificate and key reloaded)' : ''}`);
    } catch (e) {
      this.failedStamp = now;
      this.note(`--web-config: ${(e as Error).message}; still serving with the settings read before`);
    }
    return this.settings;
  }
}

const DUMMY = '$2b$10$CWA01tYN6/CsDlb2ywRZn.A8D0xE3PVcz.D9DMQLCRcnjONVvsxKu'; // compared for unknown users: same cost, never matches

/**
 * Basic auth against bcrypt hashes (bcryptjs). A user not in the file is checked against a dummy
 * hash of the same cost, so the answer takes as long. Results are cached by a digest of user, hash
 * and password (bcrypt costs ~70 ms per check at cost 10; a scrape every few seconds would pay it
 * every time), at most 256 entries.
 */
export class BasicAuth {
  private cache = new Map<string, boolean>();

  async check(users: Map<string, string>, header: string | undefined): Promise<boolean> {
    if (!users.size) return true;
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
    if (!m) return false;
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const user = decoded.slice(0, colon);
    const pass = decoded.slice(colon + 1);
    const hash = users.get(user);
    const key = createHash('sha256').update(`${user}\0${hash ?? ''}\0${pass}`).digest('hex');
    let ok = this.cache.get(key);
    if (ok === undefined) {
      ok = (await bcrypt().compare(pass, hash ?? DUMMY)) && hash !== undefined;
      if (this.cache.size >= 256) this.cache.clear();
      this.cache.set(key, ok);
    }
    return ok;
  }
}
