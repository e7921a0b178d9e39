/* SPDX-License-Identifier: GPL-2.0 */
/* What the userspace programs read back from the kernel to check leaks. */
#ifndef PMD_UTIL_H
#define PMD_UTIL_H

/*
 * Pages FOLL_PIN-pinned system-wide right now: nr_foll_pin_acquired minus
 * nr_foll_pin_released, exact once vm.stat_refresh folded the per-CPU
 * counters (which needs root). -1 if unreadable.
 */
long pins_held(void);

/* This process's mm->pinned_vm in kB (VmPin of /proc/self/status), or -1. */
long vm_pinned_kb(void);

#endif
