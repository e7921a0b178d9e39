/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pmdesc: persistent memory descriptors, the in-kernel API.
 *
 * A descriptor pins the pages behind byte ranges of a process's address
 * space and records them. pmdesc_copy_persistent() later tells whether the
 * ranges are still backed by those very pages: if so it returns the same
 * descriptor with one more reference, otherwise a new descriptor over the
 * pages that back the ranges now.
 *
 * Descriptors of kernel and physical memory share the accessors, and give
 * drivers physically contiguous segments and scatterlists for DMA.
 */
#ifndef _PMDESC_H
#define _PMDESC_H

#include <linux/types.h>

#include "uapi/pmd.h"

/* The PMD_F_* flags this pmdesc knows; others are -EINVAL. */
#define PMDESC_F_VALID (PMD_F_PERSISTENT | PMD_F_DEVICE_READS | \
			PMD_F_DEVICE_WRITES)

struct mm_struct;
struct page;
struct pmdesc;
struct sg_table;

/**
 * struct pmdesc_watcher - told when a descriptor's backing may have changed
 * @changed: called on every invalidation of the descriptor's ranges that
 *           can replace a page (not for protection-only changes), under a
 *           spinlock of the descriptor, from the mm's invalidation path,
 *           which may be reclaim, or, for a clear by the only thread of
 *           the descriptor's process, from that thread's way back to
 *           userspace and only if a page did change: it must not sleep,
 *           allocate with more than GFP_NOWAIT or call back into pmdesc
 */
struct pmdesc_watcher {
	void (*changed)(struct pmdesc_watcher *w);
};

struct pmdesc *pmdesc_create_user(struct mm_struct *mm,
				  const struct pmd_range *ranges,
				  unsigned int nr_ranges, u32 flags);
struct pmdesc *pmdesc_create_kernel(const void *kaddr, size_t len, u32 flags);
struct pmdesc *pmdesc_create_phys(phys_addr_t pa, size_t len, u32 flags);
struct pmdesc *pmdesc_copy_persistent(struct pmdesc *orig);
struct pmdesc *pmdesc_try_copy_persistent(struct pmdesc *orig);
struct pmdesc *pmdesc_get(struct pmdesc *d);
void pmdesc_put(struct pmdesc *d);
int pmdesc_watch(struct pmdesc *d, struct pmdesc_watcher *w);

size_t pmdesc_length(const struct pmdesc *d);
u32 pmdesc_flags(const struct pmdesc *d);
unsigned int pmdesc_nr_ranges(const struct pmdesc *d);
unsigned long pmdesc_nr_pages(const struct pmdesc *d);
u64 pmdesc_id(const struct pmdesc *d);
struct page *pmdesc_page(const struct pmdesc *d, unsigned long index);

int pmdesc_read_bytes(const struct pmdesc *d, size_t offset, void *buf,
		      size_t len);
int pmdesc_write_bytes(const struct pmdesc *d, size_t offset, const void *buf,
		       size_t len);

phys_addr_t pmdesc_phys_segment(const struct pmdesc *d, size_t offset,
				size_t *len);
int pmdesc_sg_table(const struct pmdesc *d, struct sg_table *sgt,
		    unsigned int max_segment, gfp_t gfp);

#endif /* _PMDESC_H */
