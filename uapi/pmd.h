/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * pmd: persistent memory descriptors, user ABI.
 *
 * Userspace describes ranges of its own address space; the kernel pins the
 * pages behind them and can later tell whether the ranges are still backed by
 * the very same pages.
 */
#ifndef _UAPI_PMD_H
#define _UAPI_PMD_H

#include <linux/types.h>

/**
 * enum pmd_flags - descriptor flags
 * @PMD_F_PERSISTENT: the descriptor may be copied with the copy constructor,
 *                    which returns it again while its ranges are still
 *                    backed by the pages it recorded
 * @PMD_F_DEVICE_READS: a device reads the memory (IOKit's kIODirectionOut)
 * @PMD_F_DEVICE_WRITES: a device writes the memory (IOKit's kIODirectionIn):
 *                       the pages are pinned writable and dirtied when they
 *                       are unpinned; only such descriptors may be written
 *                       through
 * @PMD_F_ALL: every flag above
 */
enum pmd_flags {
	PMD_F_PERSISTENT = 1 << 0,
	PMD_F_DEVICE_READS = 1 << 1,
	PMD_F_DEVICE_WRITES = 1 << 2,
	PMD_F_ALL = PMD_F_PERSISTENT | PMD_F_DEVICE_READS | PMD_F_DEVICE_WRITES,
};

/* The largest number of ranges one descriptor may describe. */
#define PMD_MAX_RANGES		1024

/**
 * struct pmd_range - a byte range of the caller's address space
 * @addr: first byte; need not be page aligned
 * @len: length in bytes, not zero; addr + len must not exceed the user
 *       address limit
 */
struct pmd_range {
	__u64 addr;
	__u64 len;
};

#endif /* _UAPI_PMD_H */
