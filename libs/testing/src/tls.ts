/**
 * A real TLS server for the TLS tools' tests: `openssl s_server` on 127.0.0.1 with a throwaway
 * self-signed certificate, echoing nothing (-quiet), ready when it listens.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForListen } from './index.js';
import { freePort } from './prometheus.js';

export interface TlsServer {
  port: number;
  server: ChildProcess;
  /** the server's certificate (PEM), for clients that verify it */
  cert: string;
  close(): void;
}

/** `openssl`: the program that serves (a copy of openssl under a name of a test's own, for -n). */
export async function startTlsServer(tag: string, openssl = 'openssl'): Promise<TlsServer> {
  const dir = mkdtempSync(join(tmpdir(), `bpf-recipes-tls-${tag}-`));
  const cert = join(dir, 'c.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  const port = await freePort();
  // stdin stays open (s_server also reads its terminal)
  const server = spawn(openssl, ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', cert, '-key', join(dir, 'k.pem'), '-quiet'], { stdio: ['pipe', 'ignore', 'ignore'] });
  const close = () => {
    server.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // generous: in the emulated arm64 guest on a loaded host s_server took over 5 s to listen
    await waitForListen(port, 120000);
  } catch (e) {
    close();
    throw e;
  }
  return { port, server, cert, close };
}

/** PEM files of a throwaway CA and what it signed, made by openssl in `dir`. */
export interface Certificates {
  /** the CA's certificate (a client's ca_file, the server's client_ca_file) */
  ca: string;
  /** a server certificate for 127.0.0.1 and localhost, and its key */
  serverCert: string;
  serverKey: string;
  /** a client certificate (SAN DNS:scraper.test) and its key */
  clientCert: string;
  clientKey: string;
  /** sign another certificate with this CA: its cert and key files */
  sign(name: string, subjectAltName: string): { cert: string; key: string };
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, each P-256, valid one day. */
export function makeCertificates(dir: string, caName = 'bpf-recipes test CA'): Certificates {
  const ossl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const tag = caName.replace(/\W+/g, '-');
  const ca = join(dir, `${tag}.crt`);
  const caKey = join(dir, `${tag}.key`);
  ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', caKey, '-out', ca, '-days', '1', '-subj', `/CN=${caName}`]);
  let serial = 0;
  const sign = (name: string, subjectAltName: string) => {
    const key = join(dir, `${tag}-${name}.key`);
    const csr = join(dir, `${tag}-${name}.csr`);
    const cert = join(dir, `${tag}-${name}.crt`);
    const ext = join(dir, `${tag}-${name}.ext`);
    writeFileSync(ext, `subjectAltName=${subjectAltName}\n`);
    ossl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
    ossl(['x509', '-req', '-in', csr, '-CA', ca, '-CAkey', caKey, '-set_serial', String(++serial + Date.now() % 100000 * 100), '-out', cert, '-days', '1', '-extfile', ext]);
    return { cert, key };
  };
  const server = sign('server', 'IP:127.0.0.1,DNS:localhost');
  const client = sign('client', 'DNS:scraper.test');
  return { ca, serverCert: server.cert, serverKey: server.key, clientCert: client.cert, clientKey: client.key, sign };
}
