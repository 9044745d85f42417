/**
 * pprof's profile.proto, gzipped (what `go tool pprof`, Pyroscope and Parca read), encoded with
 * pprof-format. One location and one function per distinct frame (name and module), one mapping
 * per module; each stack is a sample (leaf first, as pprof wants) whose value is its count (and
 * the values of `meta.more`'s sample types after it).
 */
import { gzipSync } from 'node:zlib';
import { Function as PFunction, Location, Mapping, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import type { FlameStack, ProfileMeta } from './stacks.js';

export function toPprof(stacks: readonly FlameStack[], meta: ProfileMeta): Buffer {
  const strings = new StringTable();
  const mappings: Mapping[] = [];
  const mappingOf = new Map<string, number>();
  const functions: PFunction[] = [];
  const functionOf = new Map<string, number>();
  const locations: Location[] = [];
  const locationOf = new Map<string, number>();
  const samples: Sample[] = [];

  const mappingId = (module: string | undefined): number => {
    if (module === undefined) return 0;
    let id = mappingOf.get(module);
    if (id === undefined) {
      id = mappings.length + 1;
      mappingOf.set(module, id);
      mappings.push(new Mapping({ id, filename: strings.dedup(module), hasFunctions: true }));
    }
    return id;
  };
  const functionId = (name: string): number => {
    let id = functionOf.get(name);
    if (id === undefined) {
      id = functions.length + 1;
      functionOf.set(name, id);
      const s = strings.dedup(name);
      functions.push(new PFunction({ id, name: s, systemName: s }));
    }
    return id;
  };
  const locationId = (name: string, module: string | undefined): number => {
    const key = `${module ?? ''}\0${name}`;
    let id = locationOf.get(key);
    if (id === undefined) {
      id = locations.length + 1;
      locationOf.set(key, id);
      locations.push(new Location({ id, mappingId: mappingId(module), line: [{ functionId: functionId(name) }] }));
    }
    return id;
  };

  for (const s of stacks) {
    if (!(s.count > 0)) continue;
    const ids: number[] = [];
    for (let i = s.frames.length - 1; i >= 0; i--) ids.push(locationId(s.frames[i].name, s.frames[i].module));
    samples.push(new Sample({ locationId: ids, value: [s.count, ...(meta.more ?? []).map((_, i) => s.more?.[i] ?? 0)] }));
  }

  const type = strings.dedup(meta.sampleType ?? 'count');
  const unit = strings.dedup(meta.unit ?? 'count');
  const profile = new Profile({
    sampleType: [new ValueType({ type, unit }), ...(meta.more ?? []).map((m) => new ValueType({ type: strings.dedup(m.sampleType), unit: strings.dedup(m.unit) }))],
    sample: samples,
    mapping: mappings,
    location: locations,
    function: functions,
    stringTable: strings,
    periodType: new ValueType({ type, unit }),
    period: 1,
    defaultSampleType: type,
    comment: [strings.dedup(meta.name)],
    ...(meta.startMs !== undefined ? { timeNanos: BigInt(Math.round(meta.startMs)) * 1_000_000n } : {}),
    ...(meta.durationMs !== undefined ? { durationNanos: BigInt(Math.round(meta.durationMs)) * 1_000_000n } : {}),
  });
  return gzipSync(profile.encode());
}
