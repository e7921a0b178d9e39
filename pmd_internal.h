/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside pmdesc.ko, not an API: what the files of the core share. The
 * core is pmd.c (the descriptor: create, pin, charge, release, accessors),
 * pmd_copy.c (the notifier, the compare, the copy constructor), pmd_dma.c
 * (bytes, physical segments, scatterlists) and pmd_stats.c (counters,
 * trace events, debugfs). It knows nothing of /dev/pmd, which is a client
 * of the exported API like any driver.
 */
#ifndef _PMD_INTERNAL_H
#define _PMD_INTERNAL_H

#include <linux/kref.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#include "pmd.h"

struct user_struct;

/**
 * struct pmdesc_walk - what a compare of a descriptor's pages walks
 * @start: the first address, page aligned
 * @end: the address after the last, page aligned
 * @fault: fault for reading where no page is mapped, else take such a page
 *         as changed
 */
struct pmdesc_walk {
	unsigned long start;
	unsigned long end;
	bool fault;
};

/**
 * struct pmdesc - a persistent memory descriptor
 * @kref: references; the last one unpins, uncharges (user descriptors) and
 *        frees
 * @mm: the address space of @ranges; mmgrab()ed, so the struct outlives
 *      the address space. NULL for kernel and physical descriptors
 * @user: the user charged for the pins, NULL while nothing is charged
 * @flags: PMD_F_* flags
 * @nr_ranges: entries in @ranges
 * @ranges: the byte ranges, as given at creation: user or kernel virtual
 *          addresses, or one physical range
 * @length: bytes in all ranges
 * @nr_pages: entries in @pages
 * @id: unique per descriptor while the module is loaded, given once built
 * @pages: the page behind each page of the ranges, range after range;
 *         pinned for user descriptors
 * @notifier: persistent only: watches the span of the ranges
 * @lock: persistent only: the notifier's "user provided lock": taken by
 *        the invalidation callback around mmu_interval_set_seq() and by the
 *        compare around mmu_interval_read_retry() and the store of @seq;
 *        also guards @watcher, @settle_task and @settle_span
 * @seq: persistent only: a notifier sequence at which @pages was the
 *       mapping; while the notifier still has it, a copy returns this.
 *       Written under @lock, read locklessly by the copy's fast path
 * @watcher: persistent only: pmdesc_watch()'s watcher, or NULL
 * @settle_task: persistent only: the thread that settles an invalidation
 *               of @ranges on its way back to userspace (pmd_settle.c), or
 *               NULL; under @lock
 * @settle: the task work of @settle_task, which holds a reference
 * @settle_span: the span that @settle_task's invalidations cleared; under
 *               @lock
 *
 * Why the copy's fast path needs no lock: @seq is only ever a value that
 * mmu_interval_read_begin() returned before a walk that found every page
 * the same, committed under @lock only if no invalidation had begun since.
 * An invalidation begins by setting the notifier's sequence to a new value
 * (under @lock, before any page table changes), and sequences are never
 * reused, so mmu_interval_check_retry(@seq) is false only while no
 * invalidation has begun since the walk. A fast-path ORIGINAL is thus an
 * answer from before any change, linearized at that lockless check: the
 * check's "false is not reliable" caveat does not bite, because the answer
 * is a value, not a critical section, and page tables change only after
 * every callback returned. The first @seq is read when the notifier is
 * inserted, before the pages are pinned, so no invalidation between the
 * two is missed.
 */
struct pmdesc {
	struct kref kref;
	struct mm_struct *mm;
	struct user_struct *user;
	u32 flags;
	unsigned int nr_ranges;
	struct pmd_range *ranges;
	size_t length;
	unsigned long nr_pages;
	u64 id;
	struct page **pages;
	struct mmu_interval_notifier notifier;
	spinlock_t lock; /* seq commit; @watcher, @settle_task, @settle_span */
	unsigned long seq;
	struct pmdesc_watcher *watcher;
	struct task_struct *settle_task;
	struct callback_head settle;
	struct pmdesc_walk settle_span;
};

/* What a descriptor describes. */
enum pmdesc_kind {
	PMDESC_KIND_USER,
	PMDESC_KIND_KERNEL,
	PMDESC_KIND_PHYS,
};

/* What a pmdesc_copy_persistent() call gave: not the uAPI's PMD_COPY_*. */
enum pmdesc_outcome {
	PMDESC_OUTCOME_ORIGINAL,
	PMDESC_OUTCOME_FRESH,
	PMDESC_OUTCOME_ERROR,
	PMDESC_OUTCOME_NR,
};

/* The pages that the bytes of @r touch. */
static inline unsigned long pmdesc_range_pages(const struct pmd_range *r)
{
	return (PAGE_ALIGN(r->addr + r->len) - ALIGN_DOWN(r->addr, PAGE_SIZE)) >>
	       PAGE_SHIFT;
}

/* User descriptors hold an address space; the others describe memory. */
static inline bool pmdesc_is_user(const struct pmdesc *d)
{
	return d->mm;
}

static inline bool pmdesc_is_persistent(const struct pmdesc *d)
{
	return pmdesc_is_user(d) && (d->flags & PMD_F_PERSISTENT);
}

/* Tell @d's watcher, if any, that its pages may have changed. Under @d->lock. */
static inline void pmdesc_tell_watcher(struct pmdesc *d)
{
	if (d->watcher)
		d->watcher->changed(d->watcher);
}

/* pmd.c */
struct pmdesc *__pmdesc_create_user(struct mm_struct *mm,
				    const struct pmd_range *ranges,
				    unsigned int nr_ranges, u32 flags,
				    struct user_struct *user);

/* pmd_copy.c */
int pmdesc_notifier_insert(struct pmdesc *d);
void pmdesc_notifier_remove(struct pmdesc *d);
int pmdesc_compare(struct pmdesc *d, const struct pmdesc_walk *w);

/* pmd_settle.c */
bool pmdesc_settle_later(struct pmdesc *d,
			 const struct mmu_notifier_range *range);

/* pmd_stats.c */
struct pmdesc *pmdesc_observe_create(struct pmdesc *d, enum pmdesc_kind kind,
				     u32 flags);
void pmdesc_observe_copy(const struct pmdesc *orig, const struct pmdesc *copy,
			 bool fast);
void pmdesc_observe_invalidation(enum mmu_notifier_event event);
void pmdesc_observe_settle(int same);
void pmdesc_observe_release(const struct pmdesc *d);
void pmdesc_stats_init(void);
void pmdesc_stats_exit(void);

#endif /* _PMD_INTERNAL_H */
