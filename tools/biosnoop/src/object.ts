/** biosnoop's kernel side, opened, configured and attached on a Session: what the command and the exporter share. */
import type { Session } from '@bpf-recipes/runtime';
import { PreflightError, rawTracepointExists } from '@bpf-recipes/core';
import { BiosnoopSkel, type Config } from './generated/biosnoop.js';

export function openBiosnoop(session: Session, config: Omit<Config, 'cfg_submit_at_issue'>): BiosnoopSkel {
  const skel = session.open(BiosnoopSkel, new URL('../bpf/biosnoop.bpf.o', import.meta.url), {
    ...config,
    cfg_submit_at_issue: !rawTracepointExists('block_io_start'),
  });
  const { maps, progs } = skel;
  session.loadAndAttach(skel, { ring: maps.events, lost: maps.lost_events });
  const skipped = new Set(skel.obj.skipped.map((s) => s.program));
  const attached = (p: { name: string }) => !skipped.has(p.name);
  if (!attached(progs.biosnoop_rq_issue) || !attached(progs.biosnoop_rq_complete)) {
    throw new PreflightError('this kernel lacks the block_rq_issue/block_rq_complete tracepoints biosnoop needs');
  }
  if (!attached(progs.biosnoop_io_start)) session.verbose('no block:block_io_start (kernel before 6.5): submitters are taken at insert, or at issue for requests issued directly');
  return skel;
}
