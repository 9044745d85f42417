/** Names of si_code values (include/uapi/asm-generic/siginfo.h), of signal_generate's results and of our sources. */
import { KsSource } from './generated/killsnoop.js';

const GENERIC: Record<number, string> = {
  0: 'SI_USER', 0x80: 'SI_KERNEL', [-1]: 'SI_QUEUE', [-2]: 'SI_TIMER', [-3]: 'SI_MESGQ', [-4]: 'SI_ASYNCIO',
  [-5]: 'SI_SIGIO', [-6]: 'SI_TKILL', [-7]: 'SI_DETHREAD', [-60]: 'SI_ASYNCNL',
};

// positive codes depend on the signal
const BY_SIGNAL: Record<number, string[]> = {
  4: ['', 'ILL_ILLOPC', 'ILL_ILLOPN', 'ILL_ILLADR', 'ILL_ILLTRP', 'ILL_PRVOPC', 'ILL_PRVREG', 'ILL_COPROC', 'ILL_BADSTK', 'ILL_BADIADDR'],
  8: ['', 'FPE_INTDIV', 'FPE_INTOVF', 'FPE_FLTDIV', 'FPE_FLTOVF', 'FPE_FLTUND', 'FPE_FLTRES', 'FPE_FLTINV', 'FPE_FLTSUB', 'FPE_FLTUNK', 'FPE_CONDTRAP'],
  11: ['', 'SEGV_MAPERR', 'SEGV_ACCERR', 'SEGV_BNDERR', 'SEGV_PKUERR', 'SEGV_ACCADI', 'SEGV_ADIDERR', 'SEGV_ADIPERR', 'SEGV_MTEAERR', 'SEGV_MTESERR', 'SEGV_CPERR'],
  7: ['', 'BUS_ADRALN', 'BUS_ADRERR', 'BUS_OBJERR', 'BUS_MCEERR_AR', 'BUS_MCEERR_AO'],
  5: ['', 'TRAP_BRKPT', 'TRAP_TRACE', 'TRAP_BRANCH', 'TRAP_HWBKPT', 'TRAP_UNK', 'TRAP_PERF'],
  17: ['', 'CLD_EXITED', 'CLD_KILLED', 'CLD_DUMPED', 'CLD_TRAPPED', 'CLD_STOPPED', 'CLD_CONTINUED'],
  29: ['', 'POLL_IN', 'POLL_OUT', 'POLL_MSG', 'POLL_ERR', 'POLL_PRI', 'POLL_HUP'],
  31: ['', 'SYS_SECCOMP', 'SYS_USER_DISPATCH'],
};

export function codeName(sig: number, code: number): string {
  if (code > 0 && code < 0x80) return BY_SIGNAL[sig]?.[code] || String(code);
  return GENERIC[code] ?? String(code);
}

/** enum trace_signal_result (include/trace/events/signal.h) */
export const GENERATE_RESULTS = ['delivered', 'ignored', 'already_pending', 'overflow_fail', 'lose_info'];

export function generateResult(r: number): string {
  return GENERATE_RESULTS[r] ?? String(r);
}

/** What reported a signal (enum ks_source of bpf/killsnoop.h): the syscall, or the tracepoint with -a. A new source is a compile error here. */
export const SOURCE_NAMES: Record<KsSource, string> = {
  [KsSource.KS_KILL]: 'kill',
  [KsSource.KS_TKILL]: 'tkill',
  [KsSource.KS_TGKILL]: 'tgkill',
  [KsSource.KS_RT_SIGQUEUEINFO]: 'rt_sigqueueinfo',
  [KsSource.KS_RT_TGSIGQUEUEINFO]: 'rt_tgsigqueueinfo',
  [KsSource.KS_PIDFD_SEND_SIGNAL]: 'pidfd_send_signal',
  [KsSource.KS_GENERATE]: 'signal_generate',
};

export function sourceName(source: number): string {
  return SOURCE_NAMES[source as KsSource] ?? String(source);
}
