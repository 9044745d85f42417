/** Whom a signal was aimed at, as far as an event tells: the TPID/TCOMM columns and the sentence's object. */
import { KsSource } from './generated/killsnoop.js';

export interface TargetFields {
  /** enum ks_source */
  source: number;
  tpid: number;
  ttid: number;
  pidfd: number;
  /** from signal:signal_generate: the first task the signal was generated for ('' when none was) */
  tcomm: string;
}

export interface Target {
  /** the pid (or tid) aimed at; <= 0 for kill(2)'s process groups; null when unknown (a pidfd whose signal was never generated) */
  tpid: number | null;
  tcomm: string;
  /** the sentence's words for it: "PID 123 (sleep)", "process group 77" */
  phrase: string;
}

export function targetOf(e: TargetFields, procComm: (pid: number) => string | undefined): Target {
  if (e.source === KsSource.KS_KILL && e.tpid <= 0) {
    // a group: the generated tcomm is only its first member's
    if (e.tpid === 0) return { tpid: 0, tcomm: '(own group)', phrase: 'its own process group' };
    if (e.tpid === -1) return { tpid: -1, tcomm: '(all)', phrase: 'every process it may signal' };
    return { tpid: e.tpid, tcomm: `(group ${-e.tpid})`, phrase: `process group ${-e.tpid}` };
  }
  if (e.source === KsSource.KS_PIDFD_SEND_SIGNAL && e.tpid <= 0) {
    return { tpid: null, tcomm: '?', phrase: `the process of pidfd ${e.pidfd}` };
  }
  const thread = e.source === KsSource.KS_TKILL || e.source === KsSource.KS_TGKILL || e.source === KsSource.KS_RT_TGSIGQUEUEINFO;
  const tpid = thread ? e.ttid : e.tpid;
  const tcomm = e.tcomm || (tpid > 0 ? procComm(tpid) : undefined) || '?';
  return { tpid, tcomm, phrase: `PID ${tpid} (${tcomm})` };
}
