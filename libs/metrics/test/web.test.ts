import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BasicAuth, WebConfigError, describeProtection, loadWebConfig } from '../src/index.js';

// made by Apache's htpasswd (an independent bcrypt): htpasswd -nbBC 4 "" 'open sesame'
const HASH = '$2y$04$XkIQphvzTMEdQqDdACA4j.qObi0/3y1x1No5J3F289arSvupt5.De';
const PEM = '-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n';

describe('--web-config: loadWebConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpf-recipes-webcfg-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const load = (text: string) => {
    const f = join(dir, 'web.yml');
    writeFileSync(f, text);
    return loadWebConfig(f);
  };
  const error = (text: string) => {
    try {
      load(text);
    } catch (e) {
      expect(e).toBeInstanceOf(WebConfigError);
      expect((e as Error).message).not.toContain('\n');
      return (e as Error).message.replace(`${join(dir, 'web.yml')}`, 'F');
    }
    throw new Error(`loaded: ${text}`);
  };
  writeFileSync(join(dir, 'c.pem'), PEM);
  writeFileSync(join(dir, 'k.pem'), 'key');

  it('an empty file: no TLS, no users, no headers', () => {
    expect(load('')).toMatchObject({ tls: undefined, users: new Map(), headers: {} });
    expect(describeProtection(load(''))).toMatch(/^no TLS and no basic auth/);
  });

  it('paths relative to the file, versions, client auth, ciphers, curves, headers, users, rate limit', () => {
    const s = load([
      'tls_server_config:',
      '  cert_file: c.pem',
      '  key_file: k.pem',
      '  client_auth_type: RequireAndVerifyClientCert',
      '  client_ca_file: c.pem',
      '  client_allowed_sans: [scraper.test]',
      '  min_version: TLS13',
      '  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]',
      '  curve_preferences: [X25519, CurveP256]',
      'http_server_config:',
      '  http2: false',
      '  headers:',
      '    Strict-Transport-Security: max-age=31536000',
      '    X-Frame-Options: ""',
      'basic_auth_users:',
      `  alice: '${HASH}'`,
      'rate_limit:',
      '  interval: 1s',
      '  burst: 20',
    ].join('\n'));
    expect(s.tls!.context).toMatchObject({ cert: Buffer.from(PEM), key: Buffer.from('key'), ca: Buffer.from(PEM), minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3',
      ciphers: 'ECDHE-RSA-AES128-GCM-SHA256', ecdhCurve: 'X25519:P-256', honorCipherOrder: true });
    expect(s.tls!.clientAuth).toBe('RequireAndVerifyClientCert');
    expect(s.tls!.allowedSans).toEqual(['scraper.test']);
    expect(s.headers).toEqual({ 'Strict-Transport-Security': 'max-age=31536000' }); // a blank value sets nothing
    expect(s.users).toEqual(new Map([['alice', HASH]]));
    expect(s.rateLimit).toEqual({ intervalMs: 1000, burst: 20 });
    expect(s.files).toEqual([join(dir, 'web.yml'), join(dir, 'c.pem'), join(dir, 'k.pem'), join(dir, 'c.pem')]);
    expect(describeProtection(s)).toBe('TLS (the metrics and any password travel encrypted); client certificates required and verified, SANs scraper.test; basic auth (1 user)');
  });

  it('each mistake: one line naming the key and the fix', () => {
    expect(error('- a\n- b\n')).toBe('F: expected a mapping with tls_server_config, http_server_config, basic_auth_users, rate_limit');
    expect(error('basic_auth_user:\n  a: b\n')).toBe("F: unknown key 'basic_auth_user' (it takes tls_server_config, http_server_config, basic_auth_users, rate_limit)");
    expect(error('tls_server_config:\n  key_file: k.pem\n')).toBe("F: tls_server_config: cert_file is missing (the server's certificate, PEM)");
    expect(error('tls_server_config:\n  cert: x\n  cert_file: c.pem\n  key_file: k.pem\n')).toBe('F: tls_server_config: give cert or cert_file, not both');
    expect(error('tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n  client_auth_type: Yes\n')).toMatch(/client_auth_type: 'Yes' is not one of NoClientCert, /);
    expect(error('tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n  min_version: TLS13\n  max_version: TLS12\n')).toBe('F: tls_server_config: min_version is above max_version');
    expect(error('tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n  client_allowed_sans: [a]\n')).toMatch(/client_allowed_sans needs client_auth_type RequireAndVerifyClientCert/);
    expect(error('tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n')).toMatch(/cipher_suites: 'TLS_RSA_WITH_RC4_128_SHA' is not supported/);
    expect(error(`basic_auth_users:\n  bob: '${HASH.slice(0, -1)}'\n`)).toBe('F: basic_auth_users.bob: not a bcrypt hash (make one with: htpasswd -nBC 10 "" | tr -d \':\\n\')');
    expect(error(`basic_auth_users:\n  bob: '${HASH.replace('$04$', '$03$')}'\n`)).toMatch(/bob: not a bcrypt hash/);
    expect(error('basic_auth_users:\n  bob: 12\n')).toMatch(/bob: not a bcrypt hash/);
    expect(error('http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n')).toBe("F: http_server_config.headers.X-Content-Type-Options: 'sniff' is not allowed (nosniff)");
    expect(error('http_server_config:\n  http2: maybe\n')).toBe('F: http_server_config.http2 must be true or false');
    expect(error('rate_limit:\n  interval: soon\n  burst: 1\n')).toMatch(/rate_limit.interval: 'soon' is not a duration/);
  });
});

describe('--web-config: BasicAuth (bcryptjs) against an htpasswd hash', () => {
  const users = new Map([['alice', HASH]]);
  const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
  it('the right password passes; a wrong one, an unknown user, no header or another scheme do not', async () => {
    const a = new BasicAuth();
    expect(await a.check(users, basic('alice', 'open sesame'))).toBe(true);
    expect(await a.check(users, basic('alice', 'open sesame'))).toBe(true); // cached
    expect(await a.check(users, basic('alice', 'open sesam'))).toBe(false);
    expect(await a.check(users, basic('bob', 'open sesame'))).toBe(false);
    expect(await a.check(users, undefined)).toBe(false);
    expect(await a.check(users, 'Bearer abc')).toBe(false);
    expect(await a.check(new Map(), undefined)).toBe(true); // no users: no basic auth
  });
});
