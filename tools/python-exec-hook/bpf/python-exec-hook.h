/* SPDX-License-Identifier: GPL-2.0 */
/* The one definition of what python-exec-hook's kernel side reports. */
#ifndef __PYTHON_EXEC_HOOK_H
#define __PYTHON_EXEC_HOOK_H

enum pyexec_kind {
	PYEXEC_EXEC = 0, /* a successful exec whose executable passed the name prefilter */
	PYEXEC_EXIT = 1, /* a process reported by an exec event has exited */
};

/* what may follow the prefix in the executable's name, for a match the kernel makes whole */
enum pyexec_tail {
	PYEXEC_TAIL_ANY = 0,     /* ^NAME */
	PYEXEC_TAIL_END = 1,     /* ^NAME$ */
	PYEXEC_TAIL_VERSION = 2, /* ^NAME[0-9.]*$ (the default, ^python[0-9.]*$) */
};

/* reported (by PID): what was done for the process */
#define PYEXEC_REPORTED 1
#define PYEXEC_COUNTED 2

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
