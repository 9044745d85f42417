/* SPDX-License-Identifier: GPL-2.0 */
/* The one definition of what python-exec-hook's kernel side reports. */
#ifndef __PYTHON_EXEC_HOOK_H
#define __PYTHON_EXEC_HOOK_H

enum pyexec_kind {
	PYEXEC_EXEC = 0, /* a successful exec whose executable passed the name prefilter */
	PYEXEC_EXIT = 1, /* a process reported by an exec event has exited */
};

struct event {
	__u64 ts_ns;
	__u32 kind;
	__u32 pid;
	__u32 ppid;
	__u32 uid;
	char comm[16];
	char exe[64];        /* name of the executable running (after #! and symlinks) */
	char filename[256];  /* the path given to execve (the script, for a #! script) */
};

#endif
