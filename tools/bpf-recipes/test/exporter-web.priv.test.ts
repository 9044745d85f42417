// Privileged: `bpf-recipes exporter --web-config` (exporter-toolkit's format) on the real kernel, with
// real clients: a real Prometheus scraping over https with tls_config.ca_file and basic_auth (and
// one with a wrong password), curl, client certificates required and checked, a certificate
// rotated while serving, and each bad web config refused in one line before anything is bound or
// loaded. Hashes are made by htpasswd -B (apache2-utils), certificates by openssl.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, makeCertificates, run, runToolSync, sample, skipPrivileged, startPrometheus, startTool, toolBin, uniquelyNamed } from '@bpf-recipes/testing';

const N = 2500;
const PASSWORD = 'correct horse battery staple';
const htpasswd = (password: string) => {
  const r = spawnSync('htpasswd', ['-nbBC', '10', '', password], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`htpasswd (apache2-utils): ${r.stderr}`);
  return r.stdout.replace(/[:\n]/g, '');
};

/** curl's exit code, HTTP status and body, and the headers it received (a file: curl 7.88 crashes writing them to a piped stderr) */
function curl(args: string[]) {
  const headers = join(tmpdir(), `bpf-recipes-web-headers-${process.pid}`);
  rmSync(headers, { force: true });
  const r = spawnSync('curl', ['-sS', '--max-time', '10', '-D', headers, '-w', '\n%{http_code}', ...args], { encoding: 'utf8' });
  const body = r.stdout.replace(/\n?\d{3}$/, '');
  let h = '';
  try {
    h = readFileSync(headers, 'utf8');
  } catch {
    /* no response */
  }
  return { code: r.status, status: Number(/(\d{3})$/.exec(r.stdout)?.[1] ?? 0), body, headers: h };
}

/** the SHA-256 fingerprint of the certificate a TLS server presents (openssl s_client) */
function servedFingerprint(port: number): string {
  const s = spawnSync('sh', ['-c', `openssl s_client -connect 127.0.0.1:${port} </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256`], { encoding: 'utf8' });
  return s.stdout.trim();
}
/** what a running tool wrote on stderr once `done` holds (the test's own spawnSync calls hold up reading it) */
async function stderrWhen(t: { stderr(): string }, done: (s: string) => boolean): Promise<string> {
  for (let i = 0; i < 100 && !done(t.stderr()); i++) await new Promise((r) => setTimeout(r, 50));
  return t.stderr();
}
const fileFingerprint = (cert: string) => spawnSync('openssl', ['x509', '-in', cert, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' }).stdout.trim();

describe.skipIf(skipPrivileged())('bpf-recipes exporter --web-config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-web-'));
  chmodSync(dir, 0o755);
  const certs = makeCertificates(dir);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('TLS and basic auth: a real Prometheus over https with ca_file and basic_auth gets exact counts; a wrong password is down; curl 401s; plain http gets nothing; a rotated certificate is served', async () => {
    const dd = uniquelyNamed('/bin/dd', 'ddweb');
    // the certificate files the config names, so they can be rotated in place
    copyFileSync(certs.serverCert, join(dir, 'tls.crt'));
    copyFileSync(certs.serverKey, join(dir, 'tls.key'));
    const web = join(dir, 'web.yml');
    writeFileSync(web, [
      'tls_server_config:',
      '  cert_file: tls.crt', // relative to the file's directory
      '  key_file: tls.key',
      '  min_version: TLS12',
      'basic_auth_users:',
      `  prometheus: '${htpasswd(PASSWORD)}'`,
      'http_server_config:',
      '  headers:',
      '    X-Content-Type-Options: nosniff',
      '    X-Frame-Options: deny',
      '',
    ].join('\n'));
    const config = join(dir, 'exporter.json');
    writeFileSync(config, JSON.stringify({ webConfig: web, tools: { syscount: { name: basename(dd) } } }));
    const port = await freePort();
    const at = `127.0.0.1:${port}`;
    const exp = await startTool('bpf-recipes', ['exporter', '--listen', at, '--config', config]);
    const prom = await startPrometheus({
      good: { target: at, scheme: 'https', tls: { ca_file: certs.ca }, basicAuth: { username: 'prometheus', password: PASSWORD } },
      wrong: { target: at, scheme: 'https', tls: { ca_file: certs.ca }, basicAuth: { username: 'prometheus', password: 'not it' } },
    });
    try {
      expect(exp.stderr()).toBe(`Tracing for metrics: syscount, served at https://${at}/metrics. Hit Ctrl-C to end.\n`);
      expect((await run(dd, ['if=/dev/zero', 'of=/dev/null', 'bs=1', `count=${N}`, 'status=none'])).code).toBe(0);

      // the first scrape may outlast its 1 s timeout (loading bcryptjs, one bcrypt check of cost 10 on a loaded machine): later ones hit the cache
      const up = await prom.until('up', (r) => r.length === 2 && r.some((s) => s.metric.job === 'good' && s.value[1] === '1'));
      expect(Object.fromEntries(up.map((s) => [s.metric.job, s.value[1]])), prom.log()).toEqual({ good: '1', wrong: '0' });
      const writes = await prom.until('bpf_recipes_syscalls_total{syscall="write"}', (r) => r[0]?.value[1] === String(N));
      expect(writes.map((s) => [s.metric.job, s.value[1]])).toEqual([['good', String(N)]]);

      // curl: without credentials, with wrong ones: 401 and a challenge, no metrics
      const none = curl(['--cacert', certs.ca, `https://${at}/metrics`]);
      expect([none.code, none.status]).toEqual([0, 401]);
      expect(none.headers).toMatch(/^www-authenticate: Basic/im);
      expect(none.body).not.toContain('bpf_recipes_');
      const wrong = curl(['--cacert', certs.ca, '-u', 'prometheus:nope', `https://${at}/metrics`]);
      expect([wrong.code, wrong.status, wrong.body.includes('bpf_recipes_')]).toEqual([0, 401, false]);
      const unknown = curl(['--cacert', certs.ca, '-u', `nobody:${PASSWORD}`, `https://${at}/metrics`]);
      expect([unknown.code, unknown.status]).toEqual([0, 401]);
      const good = curl(['--cacert', certs.ca, '-u', `prometheus:${PASSWORD}`, `https://${at}/metrics`]);
      expect([good.code, good.status]).toEqual([0, 200]);
      expect(sample(good.body, 'bpf_recipes_syscalls_total{syscall="write"}')).toBe(N);
      expect(good.headers).toMatch(/^x-content-type-options: nosniff\r?$/im);
      expect(good.headers).toMatch(/^x-frame-options: deny\r?$/im);
      // plain http to the TLS port: no HTTP answer at all (curl: empty reply), no metrics
      const plain = curl(['-u', `prometheus:${PASSWORD}`, `http://${at}/metrics`]);
      expect(plain.code).not.toBe(0);
      expect(plain.status).toBe(0);
      expect(plain.body).toBe('');

      // rotation: a certificate from another CA moved into place; the next handshake presents it
      expect(servedFingerprint(port)).toBe(fileFingerprint(certs.serverCert));
      const other = makeCertificates(dir, 'rotated CA');
      copyFileSync(other.serverKey, join(dir, 'tls.key.new'));
      copyFileSync(other.serverCert, join(dir, 'tls.crt.new'));
      renameSync(join(dir, 'tls.key.new'), join(dir, 'tls.key'));
      renameSync(join(dir, 'tls.crt.new'), join(dir, 'tls.crt'));
      expect(servedFingerprint(port)).toBe(fileFingerprint(other.serverCert));
      const reread = `bpf-recipes exporter: --web-config: ${web} read again (certificate and key reloaded)\n`;
      expect(await stderrWhen(exp, (e) => e.includes(reread))).toContain(reread);
      const rotated = curl(['--cacert', other.ca, '-u', `prometheus:${PASSWORD}`, `https://${at}/metrics`]);
      expect([rotated.code, rotated.status]).toEqual([0, 200]);
      const oldCa = curl(['--cacert', certs.ca, '-u', `prometheus:${PASSWORD}`, `https://${at}/metrics`]);
      expect(oldCa.code).toBe(60); // curl: the peer's certificate cannot be verified
      // a rewrite that does not load keeps the settings that work, and says so once
      writeFileSync(web, 'basic_auth_users:\n  prometheus: plaintext\n');
      const still = curl(['--cacert', other.ca, '-u', `prometheus:${PASSWORD}`, `https://${at}/metrics`]);
      expect([still.code, still.status]).toEqual([0, 200]);
      expect(curl(['--cacert', other.ca, `https://${at}/metrics`]).status).toBe(401);
      expect((await stderrWhen(exp, (e) => e.includes('still serving'))).split('\n').filter((l) => l.includes('still serving'))).toEqual([
        `bpf-recipes exporter: --web-config: ${web}: basic_auth_users.prometheus: not a bcrypt hash (make one with: htpasswd -nBC 10 "" | tr -d ':\\n'); still serving with the settings read before`,
      ]);
    } finally {
      expect((await exp.stop('SIGTERM')).code).toBe(0);
      await prom.stop();
    }
  }, 90000);

  it('client certificates: RequireAndVerifyClientCert with client_ca_file lets in only certificates of that CA (and client_allowed_sans only those SANs)', async () => {
    const web = join(dir, 'mtls.yml');
    const yml = (sans: string[]) => [
      'tls_server_config:',
      `  cert_file: ${certs.serverCert}`,
      `  key_file: ${certs.serverKey}`,
      '  client_auth_type: RequireAndVerifyClientCert',
      `  client_ca_file: ${certs.ca}`,
      ...(sans.length ? ['  client_allowed_sans:', ...sans.map((s) => `    - ${s}`)] : []),
      '',
    ].join('\n');
    writeFileSync(web, yml([]));
    const port = await freePort();
    const at = `127.0.0.1:${port}`;
    // a tool's own --metrics takes the same file
    const tool = await startTool('syscount', ['-n', 'no-such-comm-x', '--metrics', at, '--web-config', web]);
    const prom = await startPrometheus({
      withcert: { target: at, scheme: 'https', tls: { ca_file: certs.ca, cert_file: certs.clientCert, key_file: certs.clientKey } },
      nocert: { target: at, scheme: 'https', tls: { ca_file: certs.ca } },
    });
    const stranger = makeCertificates(dir, 'stranger CA');
    try {
      const up = await prom.until('up', (r) => r.length === 2 && r.some((s) => s.metric.job === 'withcert' && s.value[1] === '1'));
      expect(Object.fromEntries(up.map((s) => [s.metric.job, s.value[1]])), prom.log()).toEqual({ withcert: '1', nocert: '0' });
      const ok = curl(['--cacert', certs.ca, '--cert', certs.clientCert, '--key', certs.clientKey, `https://${at}/metrics`]);
      expect([ok.code, ok.status]).toEqual([0, 200]);
      expect(sample(ok.body, 'bpf_recipes_build_info{tool="syscount",version="0.1.0"}')).toBe(1);
      // no certificate, or one signed by another CA: the handshake fails, nothing is served
      for (const args of [[], ['--cert', stranger.clientCert, '--key', stranger.clientKey]]) {
        const r = curl(['--cacert', certs.ca, ...args, `https://${at}/metrics`]);
        expect(r.code, args.join(' ')).not.toBe(0);
        expect(r.status).toBe(0);
        expect(r.body).toBe('');
      }
      // the same CA, but the file now wants another SAN: 403 (read again at the next connection)
      writeFileSync(web, yml(['monitor.example']));
      const sans = curl(['--cacert', certs.ca, '--cert', certs.clientCert, '--key', certs.clientKey, `https://${at}/metrics`]);
      expect([sans.code, sans.status, sans.body.includes('bpf_recipes_')]).toEqual([0, 403, false]);
      writeFileSync(web, yml(['scraper.test']));
      expect(curl(['--cacert', certs.ca, '--cert', certs.clientCert, '--key', certs.clientKey, `https://${at}/metrics`]).status).toBe(200);
    } finally {
      expect((await tool.stop('SIGINT')).code).toBe(0);
      await prom.stop();
    }
  }, 90000);

  it('--allow-remote: the warning names what the web config protects and what it does not', async () => {
    const web = join(dir, 'auth-only.yml');
    writeFileSync(web, `basic_auth_users:\n  a: '${htpasswd('x')}'\n  b: '${htpasswd('y')}'\n`);
    const port = await freePort();
    const tool = await startTool('syscount', ['-n', 'no-such-comm-x', '--metrics', `0.0.0.0:${port}`, '--metrics-allow-remote', '--web-config', web]);
    try {
      expect(tool.stderr().split('\n')[0]).toBe(`syscount: serving metrics to other machines at 0.0.0.0:${port}: no TLS: the metrics and the basic-auth password cross the network in plain text; basic auth (2 users)`);
    } finally {
      await tool.stop('SIGINT');
    }
    const bare = await startTool('syscount', ['-n', 'no-such-comm-x', '--metrics', `0.0.0.0:${port}`, '--metrics-allow-remote']);
    try {
      expect(bare.stderr().split('\n')[0]).toBe(`syscount: serving metrics to other machines at 0.0.0.0:${port}: no TLS and no basic auth (no --web-config): anyone who reaches the port reads the metrics, in plain text`);
    } finally {
      await bare.stop('SIGINT');
    }
  }, 90000);

  it('a bad web config: one line, exit 2, nothing bound, nothing loaded', async () => {
    const bad = join(dir, 'bad.yml');
    const port = await freePort();
    const cases: [string, string][] = [
      ['tls_server_config: [', `${bad} is not YAML: `],
      ['tls_server_config:\n  cert_file: x\n  certfile: y\n', `${bad}: tls_server_config: unknown key 'certfile'`],
      [`tls_server_config:\n  cert_file: ${certs.serverCert}\n`, `${bad}: tls_server_config: key_file is missing`],
      [`tls_server_config:\n  cert_file: ${dir}/missing.crt\n  key_file: ${certs.serverKey}\n`, `${bad}: tls_server_config.cert_file: cannot read the certificate ${dir}/missing.crt: ENOENT`],
      [`tls_server_config:\n  cert_file: ${certs.serverCert}\n  key_file: ${certs.serverKey}\n  client_auth_type: RequireAndVerifyClientCert\n`, 'client_auth_type RequireAndVerifyClientCert needs client_ca_file'],
      [`tls_server_config:\n  cert_file: ${certs.serverCert}\n  key_file: ${certs.serverKey}\n  client_ca_file: ${certs.ca}\n`, 'client_ca_file is set but client_auth_type is NoClientCert'],
      [`tls_server_config:\n  cert_file: ${certs.serverCert}\n  key_file: ${certs.serverKey}\n  min_version: TLS14\n`, "min_version: 'TLS14' is not one of TLS10, TLS11, TLS12, TLS13"],
      ['basic_auth_users:\n  alice: hunter2\n', 'basic_auth_users.alice: not a bcrypt hash'],
      ['basic_auth_users:\n  alice: $1$abcdefgh$0123456789012345678901\n', 'basic_auth_users.alice: not a bcrypt hash'],
      ['http_server_config:\n  headers:\n    Server: x\n', 'headers: Server cannot be set'],
      ['http_server_config:\n  headers:\n    X-Frame-Options: allow\n', "X-Frame-Options: 'allow' is not allowed"],
      ['a: 1\na: 2\n', `${bad} is not YAML: Map keys must be unique`],
    ];
    for (const [text, why] of cases) {
      writeFileSync(bad, text);
      for (const [tool, args] of [
        ['bpf-recipes', ['exporter', '--listen', `:${port}`, '--tools', 'syscount', '--web-config', bad]],
        ['syscount', ['--metrics', `:${port}`, '--web-config', bad]],
      ] as const) {
        const r = spawnSync(toolBin(tool), args, { encoding: 'utf8', env: { ...process.env, BPF_RECIPES_TIMING: '1' } });
        const lines = r.stderr.trimEnd().split('\n').filter((l) => !l.includes('timing: '));
        expect(r.status, `${tool} ${text}: ${r.stderr}`).toBe(2);
        expect(lines, `${tool} ${text}`).toHaveLength(1);
        expect(lines[0]).toContain(`${tool === 'syscount' ? 'syscount' : 'bpf-recipes exporter'}: --web-config: `);
        expect(lines[0], text).toContain(why);
        expect(r.stdout).toBe('');
        if (tool === 'syscount') expect(r.stderr).not.toMatch(/timing: (metrics listening|preflight done|object opened|loaded|attached)/);
      }
    }
    // an unreadable file, and --web-config without --metrics
    expect(runToolSync('syscount', ['--metrics', `:${port}`, '--web-config', join(dir, 'nope.yml')]).stderr)
      .toBe(`syscount: --web-config: cannot read ${join(dir, 'nope.yml')}: ENOENT (see syscount --help)\n`);
    expect(runToolSync('syscount', ['--web-config', bad])).toMatchObject({ code: 2, stderr: 'syscount: --web-config: give --metrics ADDR too (it secures the metrics endpoint) (see syscount --help)\n' });
    // nothing was left bound
    const probe = spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${port}, '127.0.0.1', function () { this.close(); })`]);
    expect(probe.status).toBe(0);
  }, 120000);
});
