/**
 * Which functions of which library sslsnoop probes. The functions, their ids (the attach cookie)
 * and which of them write come from bpf/sslsnoop.h through codegen: enum ssl_func names each
 * function after its symbol (F_SSL_read probes SSL_read), SSLSNOOP_WRITES is the set that writes.
 */
import { SSLSNOOP_WRITES, SslFunc } from './generated/sslsnoop.js';

/** every function id of enum ssl_func, in order */
export const FUNC_IDS: SslFunc[] = Object.values(SslFunc).filter((v): v is SslFunc => typeof v === 'number').sort((a, b) => a - b);
/** the symbol of each function id */
export const FUNC_NAMES: string[] = FUNC_IDS.map((f) => SslFunc[f].replace(/^F_/, ''));
export const HANDSHAKE = SslFunc.F_SSL_do_handshake;
export const isWrite = (f: number): boolean => f >= 0 && f < 31 && ((SSLSNOOP_WRITES >> f) & 1) === 1;
/** what --json's `direction` says of a function */
export const direction = (f: number): 'handshake' | 'write' | 'read' => (f === HANDSHAKE ? 'handshake' : isWrite(f) ? 'write' : 'read');

export type LibraryName = 'openssl' | 'gnutls' | 'nss';
export interface Library { name: LibraryName; sonames: string[]; funcs: SslFunc[] }

const OPENSSL = [SslFunc.F_SSL_read, SslFunc.F_SSL_write, SslFunc.F_SSL_read_ex, SslFunc.F_SSL_write_ex];
export const LIBRARIES: Library[] = [
  { name: 'openssl', sonames: ['libssl.so.3', 'libssl.so.1.1', 'libssl.so'], funcs: OPENSSL },
  { name: 'gnutls', sonames: ['libgnutls.so.30', 'libgnutls.so'], funcs: [SslFunc.F_gnutls_record_recv, SslFunc.F_gnutls_record_send] },
  { name: 'nss', sonames: ['libnspr4.so'], funcs: [SslFunc.F_PR_Read, SslFunc.F_PR_Write, SslFunc.F_PR_Recv, SslFunc.F_PR_Send] },
];

/** the library a function belongs to (SSL_do_handshake: OpenSSL's) */
export const libraryOf = (f: number): LibraryName | undefined => (f === HANDSHAKE ? 'openssl' : LIBRARIES.find((l) => l.funcs.includes(f))?.name);
