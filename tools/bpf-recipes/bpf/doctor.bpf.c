// SPDX-License-Identifier: GPL-2.0
/* bpf-recipes doctor: one trivial program per program type, each loaded and attached on its own
 * to learn what this kernel really supports. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("tracepoint/syscalls/sys_enter_getppid")
int doctor_tracepoint(void *ctx) { return 0; }

SEC("raw_tp/sys_enter")
int doctor_raw_tp(void *ctx) { return 0; }

SEC("tp_btf/sys_enter")
int BPF_PROG(doctor_tp_btf, struct pt_regs *regs, long id) { return 0; }

SEC("uprobe")
int doctor_uprobe(void *ctx) { return 0; }

SEC("kprobe/do_sys_openat2")
int doctor_kprobe(void *ctx) { return 0; }

SEC("fentry/do_sys_openat2")
int BPF_PROG(doctor_fentry) { return 0; }

SEC("perf_event")
int doctor_perf_event(void *ctx) { return 0; }

SEC("cgroup/sock_create")
int doctor_cgroup_sock(struct bpf_sock *ctx) { return 1; }

SEC("cgroup_skb/egress")
int doctor_cgroup_skb(struct __sk_buff *skb) { return 1; }

char LICENSE[] SEC("license") = "GPL";
