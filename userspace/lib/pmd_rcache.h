/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pmd_rcache: a registration cache over /dev/pmd, the part of an RDMA or
 * accelerator stack that turns "this buffer" into "a pinned descriptor of
 * its pages" without a syscall per use.
 *
 * Each entry is a persistent descriptor of one (addr, len) and the sample
 * of its status word taken when the entry was last known to be valid. A
 * lookup whose word still equals the sample is a hit: the kernel moves the
 * word for every event that can replace a page, and for no
 * protection-only one (mprotect, fork, NUMA hinting), so a hit needs one
 * load. A moved word is revalidated with one COPY, which either returns
 * the original (the move was spurious) or a fresh descriptor of the pages
 * mapped now.
 *
 * Correctness needs only the words. The event queue lets a caller unpin
 * promptly memory it no longer maps: pmd_rcache_evict_changed().
 *
 * Single-threaded: a cache, and the file it was given, belong to one thread
 * at a time; the caller locks if it shares them. A word counts from the
 * pins of its CREATE or COPY on: an munmap by another thread while the
 * call runs moves it too.
 */
#ifndef PMD_RCACHE_H
#define PMD_RCACHE_H

#include <stddef.h>

#include "../../uapi/pmd.h"

struct pmd_rcache;

/* What pmd_rcache_get() did to find the handle. */
enum pmd_rcache_result {
	PMD_RCACHE_HIT = 0,		/* the word had not moved: no syscall */
	PMD_RCACHE_MISS_ORIGINAL = 1,	/* moved, COPY: same pages (spurious) */
	PMD_RCACHE_MISS_FRESH = 2,	/* moved, COPY: new pages, new handle */
	PMD_RCACHE_MISS_NEW = 3,	/* not cached (or COPY failed): CREATE */
};

/* Counters since pmd_rcache_new(); misses = spurious + fresh + new. */
struct pmd_rcache_stats {
	unsigned long lookups;
	unsigned long hits;
	unsigned long misses;
	unsigned long spurious;		/* PMD_RCACHE_MISS_ORIGINAL */
	unsigned long fresh;		/* PMD_RCACHE_MISS_FRESH */
	unsigned long new;		/* PMD_RCACHE_MISS_NEW */
	unsigned long evicted;		/* entries released, for any reason */
	unsigned long evicted_events;	/* ... of them by an event */
	unsigned long stale_events;	/* events for entries already handled */
	unsigned long copy_errors;	/* COPYs that failed: re-created */
};

/*
 * A cache of up to @max_entries descriptors on the open /dev/pmd @fd, which
 * stays the caller's: the cache opens and closes nothing, but maps the
 * file's status area (all PMD_STATUS_MAX_SIZE, address space only) and
 * creates and releases handles on it. Open @fd O_NONBLOCK to make
 * pmd_rcache_evict_changed() one syscall; otherwise it polls first.
 * NULL with errno set on failure.
 */
struct pmd_rcache *pmd_rcache_new(int fd, unsigned int max_entries);

/*
 * The handle of a persistent descriptor (device reads and writes) that
 * describes the pages mapped at the @len bytes at @addr now, in *@handle;
 * the cache owns it, valid until the next call on @rc. Entries match by the
 * exact (@addr, @len). Returns an &enum pmd_rcache_result, or -errno (the
 * errors of CREATE; EFAULT when the range is not mapped).
 */
int pmd_rcache_get(struct pmd_rcache *rc, const void *addr, size_t len,
		   __u32 *handle);

/*
 * Release the entry of (@addr, @len), e.g. before the caller frees that
 * memory: 1 if there was one, else 0.
 */
int pmd_rcache_evict(struct pmd_rcache *rc, const void *addr, size_t len);

/*
 * Read the pending events without blocking and release (unpin) every entry
 * they name whose word moved since it was last validated; the scan costs
 * nothing per entry. An event may name a handle the cache has since
 * replaced or an entry it has since revalidated or reused: those are
 * skipped (counted as stale_events). Returns the entries evicted, or -errno
 * of read().
 */
int pmd_rcache_evict_changed(struct pmd_rcache *rc);

/* The counters of @rc. */
const struct pmd_rcache_stats *pmd_rcache_stats(const struct pmd_rcache *rc);

/* Entries in @rc now. */
unsigned int pmd_rcache_size(const struct pmd_rcache *rc);

/* Release every entry, unmap the status area, free @rc (NULL is a no-op). */
void pmd_rcache_free(struct pmd_rcache *rc);

#endif
