/** Names of getaddrinfo's EAI_* results and of h_errno values (glibc's netdb.h), and address text. */
import { isIPv4, isIPv6 } from 'node:net';
import { GhlFunc } from './generated/gethostlatency.js';

const EAI: Record<number, string> = {
  [-1]: 'EAI_BADFLAGS', [-2]: 'EAI_NONAME', [-3]: 'EAI_AGAIN', [-4]: 'EAI_FAIL', [-5]: 'EAI_NODATA', [-6]: 'EAI_FAMILY',
  [-7]: 'EAI_SOCKTYPE', [-8]: 'EAI_SERVICE', [-9]: 'EAI_ADDRFAMILY', [-10]: 'EAI_MEMORY', [-11]: 'EAI_SYSTEM', [-12]: 'EAI_OVERFLOW',
};
const HERRNO: Record<number, string> = { 1: 'HOST_NOT_FOUND', 2: 'TRY_AGAIN', 3: 'NO_RECOVERY', 4: 'NO_DATA' };

/** libc's functions by enum ghl_func (bpf/gethostlatency.h): GHL_GETADDRINFO is getaddrinfo */
export const FUNCS: string[] = Object.values(GhlFunc)
  .filter((v): v is GhlFunc => typeof v === 'number')
  .sort((a, b) => a - b)
  .map((v) => GhlFunc[v].replace(/^GHL_/, '').toLowerCase());

/** gethostbyaddr and gethostbyaddr_r ask about an address: HOST holds its bytes */
export const isAddrQuery = (func: number) => func === GhlFunc.GHL_GETHOSTBYADDR || func === GhlFunc.GHL_GETHOSTBYADDR_R;

export function resultName(func: number, ret: number, herrno: number): string {
  if (ret === 0) return '0';
  if (func === GhlFunc.GHL_GETADDRINFO) return EAI[ret] ?? String(ret);
  if (herrno) return HERRNO[herrno] ?? `h_errno ${herrno}`;
  return ret === -1 ? 'NULL' : String(ret);
}

export function isAddress(s: string): boolean {
  return isIPv4(s) || isIPv6(s);
}
