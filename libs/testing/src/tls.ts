/**
 * A real TLS server for the TLS tools' tests: `openssl s_server` on 127.0.0.1 with a throwaway
 * self-signed certificate, echoing nothing (-quiet), ready when it listens.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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

export async function startTlsServer(tag: string): Promise<TlsServer> {
  const dir = mkdtempSync(join(tmpdir(), `bpf-recipes-tls-${tag}-`));
  const cert = join(dir, 'c.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  const port = await freePort();
  // stdin stays open (s_server also reads its terminal)
  const server = spawn('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', cert, '-key', join(dir, 'k.pem'), '-quiet'], { stdio: ['pipe', 'ignore', 'ignore'] });
  const close = () => {
    server.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForListen(port);
  } catch (e) {
    close();
    throw e;
  }
  return { port, server, cert, close };
}
