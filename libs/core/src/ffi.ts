/**
 * The system libbpf (libbpf.so.1) and the few libc calls the loader needs, bound with koffi.
 * Bound lazily, once: importing this module costs nothing until a tool loads BPF.
 * Pointers are opaque bigints; libbpf 1.x reports errors as NULL/negative values plus errno.
 */
import { createRequire } from 'node:module';
import type Koffi from 'koffi';
import { PreflightError } from './errors.js';

// koffi (a native addon, ~15 ms to load) is required on first use, not at import
let koffiModule: typeof Koffi | undefined;
export function koffiLib(): typeof Koffi {
  return (koffiModule ??= createRequire(import.meta.url)('koffi') as typeof Koffi);
}

export type Ptr = bigint;

function bind() {
  const koffi = koffiLib();
  let lib: ReturnType<typeof koffi.load>;
  try {
    lib = koffi.load('libbpf.so.1');
  } catch {
    throw new PreflightError('libbpf.so.1 not found: install it (apt-get install libbpf1)');
  }
  const libc = koffi.load('libc.so.6');

  const printFn = koffi.proto('int recipes_libbpf_print_fn(int level, const char *fmt, void *args)');
  const uprobeOpts = koffi.struct('recipes_bpf_uprobe_opts', {
    sz: 'size_t',
    ref_ctr_offset: 'size_t',
    bpf_cookie: 'uint64_t',
    retprobe: 'bool',
    func_name: 'const char *',
  });

  return {
    printFn,
    uprobeOpts,
    libbpf_set_print: lib.func('void *libbpf_set_print(recipes_libbpf_print_fn *fn)'),
    libbpf_major_version: lib.func('uint32_t libbpf_major_version(void)'),
    libbpf_minor_version: lib.func('uint32_t libbpf_minor_version(void)'),
    libbpf_num_possible_cpus: lib.func('int libbpf_num_possible_cpus(void)'),
    libbpf_probe_bpf_prog_type: lib.func('int libbpf_probe_bpf_prog_type(int prog_type, void *opts)'),

    bpf_object__open_file: lib.func('void *bpf_object__open_file(const char *path, void *opts)'),
    bpf_object__load: lib.func('int bpf_object__load(void *obj)'),
    bpf_object__close: lib.func('void bpf_object__close(void *obj)'),
    bpf_object__next_program: lib.func('void *bpf_object__next_program(void *obj, void *prog)'),
    bpf_object__next_map: lib.func('void *bpf_object__next_map(void *obj, void *map)'),
    bpf_object__find_map_by_name: lib.func('void *bpf_object__find_map_by_name(void *obj, const char *name)'),
    bpf_object__find_program_by_name: lib.func('void *bpf_object__find_program_by_name(void *obj, const char *name)'),

    bpf_program__name: lib.func('const char *bpf_program__name(void *prog)'),
    bpf_program__section_name: lib.func('const char *bpf_program__section_name(void *prog)'),
    bpf_program__set_autoload: lib.func('int bpf_program__set_autoload(void *prog, bool autoload)'),
    bpf_program__autoload: lib.func('bool bpf_program__autoload(void *prog)'),
    bpf_program__attach: lib.func('void *bpf_program__attach(void *prog)'),
    bpf_program__fd: lib.func('int bpf_program__fd(void *prog)'),
    bpf_obj_get_info_by_fd: lib.func('int bpf_obj_get_info_by_fd(int bpf_fd, void *info, _Inout_ uint32_t *info_len)'),
    bpf_program__attach_uprobe_opts: lib.func(
      'void *bpf_program__attach_uprobe_opts(void *prog, int pid, const char *binary_path, size_t func_offset, const recipes_bpf_uprobe_opts *opts)',
    ),
    bpf_program__attach_perf_event: lib.func('void *bpf_program__attach_perf_event(void *prog, int pfd)'),
    bpf_program__attach_tracepoint: lib.func('void *bpf_program__attach_tracepoint(void *prog, const char *tp_category, const char *tp_name)'),
    bpf_program__attach_cgroup: lib.func('void *bpf_program__attach_cgroup(void *prog, int cgroup_fd)'),
    bpf_link__destroy: lib.func('int bpf_link__destroy(void *link)'),

    bpf_map__name: lib.func('const char *bpf_map__name(void *map)'),
    bpf_map__fd: lib.func('int bpf_map__fd(void *map)'),
    bpf_map__type: lib.func('int bpf_map__type(void *map)'),
    bpf_map__key_size: lib.func('uint32_t bpf_map__key_size(void *map)'),
    bpf_map__value_size: lib.func('uint32_t bpf_map__value_size(void *map)'),
    bpf_map__max_entries: lib.func('uint32_t bpf_map__max_entries(void *map)'),
    bpf_map__set_max_entries: lib.func('int bpf_map__set_max_entries(void *map, uint32_t max_entries)'),
    bpf_map__initial_value: lib.func('void *bpf_map__initial_value(void *map, _Out_ size_t *psize)'),

    bpf_map_lookup_elem: lib.func('int bpf_map_lookup_elem(int fd, const void *key, void *value)'),
    bpf_map_update_elem: lib.func('int bpf_map_update_elem(int fd, const void *key, const void *value, uint64_t flags)'),
    bpf_map_delete_elem: lib.func('int bpf_map_delete_elem(int fd, const void *key)'),
    bpf_map_get_next_key: lib.func('int bpf_map_get_next_key(int fd, const void *key, void *next_key)'),
    bpf_map_update_batch: lib.func('int bpf_map_update_batch(int fd, const void *keys, const void *values, _Inout_ uint32_t *count, const void *opts)'),

    vsnprintf: libc.func('int vsnprintf(_Out_ uint8_t *buf, size_t size, const char *fmt, void *ap)'),
    vasprintf: libc.func('int vasprintf(_Out_ void **strp, const char *fmt, void *ap)'),
    free: libc.func('void free(void *p)'),
    mmap: libc.func('void *mmap(void *addr, size_t len, int prot, int flags, int fd, int64_t off)'),
    munmap: libc.func('int munmap(void *addr, size_t len)'),
    mount: libc.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const void *data)'),
    // syscall(2) is variadic; with integer arguments only, the fixed form has the same calling convention
    perf_event_open: libc.func('long syscall(long nr, void *attr, int pid, int cpu, int group_fd, unsigned long flags)'),
    close: libc.func('int close(int fd)'),
  };
}

export type Libbpf = ReturnType<typeof bind>;
let bound: Libbpf | undefined;

export function libbpf(): Libbpf {
  return (bound ??= bind());
}

export function errno(): number {
  return koffiLib().errno();
}

/** NULL from libbpf comes back as null (or 0n on some paths). */
export function isNull(p: unknown): boolean {
  return p === null || p === undefined || p === 0n || p === 0;
}

export function view(p: Ptr, len: number): ArrayBuffer {
  return koffiLib().view(p, len);
}
