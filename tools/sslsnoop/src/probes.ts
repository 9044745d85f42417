/** Which functions of which library sslsnoop probes, with the entry program and the cookie (enum ssl_func). */
export interface Probe { func: string; cookie: number; entry: string; write: boolean }
export interface Library { name: string; sonames: string[]; probes: Probe[] }

export const FUNC_NAMES = ['SSL_read', 'SSL_write', 'SSL_read_ex', 'SSL_write_ex', 'gnutls_record_recv', 'gnutls_record_send', 'PR_Read', 'PR_Write', 'PR_Recv', 'PR_Send', 'SSL_do_handshake'];
export const WRITES = new Set([1, 3, 5, 7, 9]);
export const HANDSHAKE = 10;

const p = (cookie: number, entry = 'sslsnoop_enter'): Probe => ({ func: FUNC_NAMES[cookie], cookie, entry, write: WRITES.has(cookie) });

export const OPENSSL: Probe[] = [p(0), p(1), p(2, 'sslsnoop_enter_ex'), p(3, 'sslsnoop_enter_ex')];
export const OPENSSL_HANDSHAKE = p(HANDSHAKE, 'sslsnoop_enter_handshake');

export const LIBRARIES: Library[] = [
  { name: 'openssl', sonames: ['libssl.so.3', 'libssl.so.1.1', 'libssl.so'], probes: OPENSSL },
  { name: 'gnutls', sonames: ['libgnutls.so.30', 'libgnutls.so'], probes: [p(4), p(5)] },
  { name: 'nss', sonames: ['libnspr4.so'], probes: [p(6), p(7), p(8), p(9)] },
];
