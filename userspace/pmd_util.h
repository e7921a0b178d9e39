/* SPDX-License-Identifier: GPL-2.0 */
/* What the userspace programs read back from the kernel to check leaks. */
#ifndef PMD_UTIL_H
#define PMD_UTIL_H

#include <linux/types.h>

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

/* Word @index of a mapped status area, loaded once, with acquire order. */
static inline __u64 pmd_status_word(const __u64 *area, __u32 index)
{
	return __atomic_load_n(&area[index], __ATOMIC_ACQUIRE);
}

/*
 * Pages FOLL_PIN-pinned system-wide right now: nr_foll_pin_acquired minus
 * nr_foll_pin_released, exact once vm.stat_refresh folded the per-CPU
 * counters (which needs root). -1 if unreadable.
 */
long pins_held(void);

/* This process's mm->pinned_vm in kB (VmPin of /proc/self/status), or -1. */
long vm_pinned_kb(void);

/* Write @text to the file at @path, opened O_WRONLY | @flags: 0 or -1. */
int write_file(const char *path, const char *text, int flags);

/* The module's counters in debugfs (mounted at /sys/kernel/debug). */
#define PMD_STATS_PATH "/sys/kernel/debug/pmdesc/stats"

struct pmd_stats {
	long live;	/* descriptors_live */
	long pinned;	/* pages_pinned */
	long original;	/* copies_original */
	long fresh;	/* copies_fresh */
	long error;	/* copies_error */
	long fast;	/* copies_fast */
};

/* Read every counter of PMD_STATS_PATH: 0, or -1 if one is missing. */
int pmd_stats_read(struct pmd_stats *st);

#define PMD_TRACING "/sys/kernel/tracing"

/*
 * Turn the pmdesc trace events on or off and empty the trace buffer:
 * 0, or -1 without tracefs or the events.
 */
int pmd_trace_set(int on);

/* The trace buffer as text, malloc()ed; NULL if it cannot be read. */
char *pmd_trace_read(void);

#endif
