/** BTF types as `bpftool btf dump file X format raw -j` prints them, and how to resolve them. */
import { execFileSync } from 'node:child_process';

export interface BtfMember { name: string; type_id: number; bits_offset: number; bitfield_size?: number }
export interface BtfType {
  id: number;
  kind: string;
  name: string;
  type_id?: number;
  size?: number;
  encoding?: string;
  nr_bits?: number;
  nr_elems?: number;
  members?: BtfMember[];
  vars?: { type_id: number; offset: number; size: number }[];
  values?: { name: string; val: number }[];
  linkage?: string;
}

export class Btf {
  readonly byId = new Map<number, BtfType>();
  constructor(types: BtfType[]) {
    for (const t of types) this.byId.set(t.id, t);
  }

  static fromObject(path: string, bpftool = process.env.BPFTOOL ?? 'bpftool'): Btf {
    let out: string;
    try {
      out = execFileSync(bpftool, ['btf', 'dump', 'file', path, 'format', 'raw', '-j'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    } catch (e) {
      throw new Error(`cannot read the BTF of ${path} with ${bpftool}: ${(e as Error).message.split('\n')[0]} (install it: apt-get install bpftool)`);
    }
    return new Btf((JSON.parse(out) as { types: BtfType[] }).types);
  }

  get(id: number): BtfType {
    const t = this.byId.get(id);
    if (!t) throw new Error(`BTF type ${id} not found`);
    return t;
  }

  /** Follow typedefs and qualifiers to the type that has a layout. */
  resolve(id: number): BtfType {
    let t = this.get(id);
    while (['TYPEDEF', 'CONST', 'VOLATILE', 'RESTRICT', 'TYPE_TAG'].includes(t.kind)) t = this.get(t.type_id!);
    return t;
  }

  find(kind: string, name: string): BtfType | undefined {
    for (const t of this.byId.values()) if (t.kind === kind && t.name === name) return t;
    return undefined;
  }

  sizeOf(id: number): number {
    const t = this.resolve(id);
    switch (t.kind) {
      case 'INT': case 'STRUCT': case 'UNION': case 'ENUM': case 'ENUM64': return t.size!;
      case 'PTR': return 8;
      case 'ARRAY': return this.sizeOf(t.type_id!) * t.nr_elems!;
      default: throw new Error(`no size for BTF kind ${t.kind} (${t.name})`);
    }
  }
}
