// SPDX-License-Identifier: GPL-2.0
/*
 * pmdesc: the copy constructor of persistent descriptors.
 *
 * A persistent descriptor watches the span of its ranges with an
 * mmu_interval_notifier. A copy with no invalidation since its view was
 * last known current returns it in O(1); otherwise the ranges are compared
 * with the recorded pages by hmm_range_fault(), taking no page reference,
 * and a fresh descriptor is built only when a page changed. Because a
 * recorded page stays pinned, it cannot be freed and reused at the same
 * address, so page identity is an ABA-safe test.
 */
#include <linux/err.h>
#include <linux/export.h>
#include <linux/hmm.h>
#include <linux/jiffies.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "pmd_compat.h"
#include "pmd_internal.h"

/*
 * Can an invalidation for @event replace a page that is pinned? Only
 * protection changes cannot: mprotect(), NUMA-hinting scans, userfaultfd
 * write-protect (MMU_NOTIFY_PROTECTION_VMA), the write protection of a COW
 * mapping by fork() or of a page for writeback (MMU_NOTIFY_PROTECTION_PAGE;
 * fork() copies pinned anonymous pages for the child, so the parent keeps
 * its own), soft-dirty clearing (MMU_NOTIFY_SOFT_DIRTY). A write fault that
 * follows them reuses the pinned page: pinned anonymous pages are
 * exclusive to their mm, and shared pages are not copied on write.
 */
static bool pmdesc_event_keeps_pages(enum mmu_notifier_event event)
{
	switch (event) {
	case MMU_NOTIFY_PROTECTION_VMA:
	case MMU_NOTIFY_PROTECTION_PAGE:
	case MMU_NOTIFY_SOFT_DIRTY:
		return true;
	default:
		return false;
	}
}

/*
 * The invalidation callback of a persistent descriptor's notifier: unless
 * the event only changes protections, the descriptor's recorded view is
 * from now on not known to be current, so the next copy takes the slow
 * path, and its watcher is told: now, or once pmd_settle.c found that a
 * page did change.
 */
static bool pmdesc_invalidate(struct mmu_interval_notifier *notifier,
			      const struct mmu_notifier_range *range,
			      unsigned long cur_seq)
{
	struct pmdesc *d = container_of(notifier, struct pmdesc, notifier);

	pmdesc_observe_invalidation(range->event);
	if (pmdesc_event_keeps_pages(range->event))
		return true;
	spin_lock(&d->lock);
	mmu_interval_set_seq(notifier, cur_seq);
	if (!pmdesc_settle_later(d, range))
		pmdesc_tell_watcher(d);
	spin_unlock(&d->lock);
	return true;
}

static const struct mmu_interval_notifier_ops pmdesc_notifier_ops = {
	.invalidate = pmdesc_invalidate,
};

/*
 * A persistent descriptor watches the span of its ranges for invalidations,
 * from before its pages are pinned, so none that concerns them is missed.
 */
int pmdesc_notifier_insert(struct pmdesc *d)
{
	u64 start = U64_MAX, end = 0;
	unsigned int i;
	int ret;

	if (!pmdesc_is_persistent(d))
		return 0;
	for (i = 0; i < d->nr_ranges; i++) {
		start = min(start, ALIGN_DOWN(d->ranges[i].addr, PAGE_SIZE));
		end = max(end, PAGE_ALIGN(d->ranges[i].addr + d->ranges[i].len));
	}
	ret = mmu_interval_notifier_insert(&d->notifier, d->mm, start,
					   end - start, &pmdesc_notifier_ops);
	if (ret)
		return ret;
	d->seq = mmu_interval_read_begin(&d->notifier);
	return 0;
}

void pmdesc_notifier_remove(struct pmdesc *d)
{
	if (pmdesc_is_persistent(d))
		mmu_interval_notifier_remove(&d->notifier);
}

/*
 * Pages compared per hmm_range_fault() call: the first batch is small and
 * on the stack, so that a change near the start (the usual case: the whole
 * buffer was replaced) is found without allocating; each next one is twice
 * as big, up to a page table's worth, in a buffer allocated only once the
 * first batch matched. Batches end at page table boundaries, where a huge
 * mapping is probed first.
 */
#define PMDESC_COMPARE_FIRST 16UL
#define PMDESC_COMPARE_BATCH (PMD_SIZE >> PAGE_SHIFT)

/**
 * struct pmdesc_pfns - the PFNs of one compare batch
 * @pfns: @first, or an array of PMDESC_COMPARE_BATCH entries
 * @max: entries in @pfns
 * @first: the first batch
 */
struct pmdesc_pfns {
	unsigned long *pfns;
	unsigned long max;
	unsigned long first[PMDESC_COMPARE_FIRST];
};

static void pmdesc_pfns_init(struct pmdesc_pfns *p)
{
	p->pfns = p->first;
	p->max = ARRAY_SIZE(p->first);
}

/* Room for batches of up to @n pages: past the first, a full-size array. */
static int pmdesc_pfns_grow(struct pmdesc_pfns *p, unsigned long n)
{
	unsigned long *pfns;

	if (n <= p->max)
		return 0;
	n = PMDESC_COMPARE_BATCH;
	pfns = kvmalloc_array(n, sizeof(*pfns), GFP_KERNEL);
	if (!pfns)
		return -ENOMEM;
	p->pfns = pfns;
	p->max = n;
	return 0;
}

static void pmdesc_pfns_free(struct pmdesc_pfns *p)
{
	if (p->pfns != p->first)
		kvfree(p->pfns);
}

/* Fault in and read the PFNs of @n pages from @range->start into @p. */
static int pmdesc_fault_pfns(struct hmm_range *range, struct pmdesc_pfns *p,
			     unsigned long n)
{
	int ret;

	ret = pmdesc_pfns_grow(p, n);
	if (ret)
		return ret;
	range->hmm_pfns = p->pfns;
	range->end = range->start + (n << PAGE_SHIFT);
	ret = hmm_range_fault(range);
	return ret == -EPERM ? -EFAULT : ret;
}

/* Are @n recorded pages, from @index on, the pages from @first on? */
static bool pmdesc_pages_follow(const struct pmdesc *d, unsigned long index,
				struct page *first, unsigned long n)
{
	unsigned long i;

	for (i = 0; i < n; i++)
		if (d->pages[index + i] != nth_page(first, i))
			return false;
	return true;
}

/*
 * At a page table boundary, with a table's worth of pages left: is the
 * page at @range->start mapped by a PMD-sized (or larger) leaf? Then one
 * PFN stands for all PMDESC_COMPARE_BATCH pages: return the first page,
 * without a PFN per page. Else NULL, or an ERR_PTR().
 */
static struct page *pmdesc_probe_huge(struct hmm_range *range,
				      struct pmdesc_pfns *p, unsigned long left)
{
	int ret;

	if (!IS_ALIGNED(range->start, PMD_SIZE) || left < PMDESC_COMPARE_BATCH)
		return NULL;
	ret = pmdesc_fault_pfns(range, p, 1);
	if (ret == -EFAULT)
		return NULL;
	if (ret)
		return ERR_PTR(ret);
	/* Without faulting: not mapped (a hugetlb entry still has an order). */
	if (!(p->pfns[0] & HMM_PFN_VALID) ||
	    hmm_pfn_to_map_order(p->pfns[0]) < PMD_SHIFT - PAGE_SHIFT)
		return NULL;
	return hmm_pfn_to_page(p->pfns[0]);
}

/*
 * The @n pages at @addr of a mapping that hmm_range_fault() cannot read
 * (PROT_NONE), read instead as ptrace reads them (FOLL_FORCE), without
 * faulting (a page that is not there is not the pinned one): are they
 * @d's recorded pages from @index on? Return: 1 same, 0 different, or
 * -errno: -EFAULT where no page is mapped.
 */
static int pmdesc_compare_forced(struct pmdesc *d, unsigned long addr,
				 unsigned long index, unsigned long n)
{
	struct page *page;
	unsigned long i;
	long got;

	for (i = 0; i < n; i++) {
		got = pmdesc_get_user_page_remote(d->mm, addr + i * PAGE_SIZE,
						  FOLL_FORCE | FOLL_NOFAULT,
						  &page);
		if (got != 1)
			return got < 0 ? got : -EFAULT;
		put_page(page);
		if (page != d->pages[index + i])
			return 0;
	}
	return 1;
}

/*
 * Compare the @n pages at @range->start with @d's recorded pages from
 * @index on, by a batch of PFNs. Return: 1 same, 0 different, or -errno.
 */
static int pmdesc_compare_batch(struct pmdesc *d, struct hmm_range *range,
				struct pmdesc_pfns *p, unsigned long index,
				unsigned long n)
{
	unsigned long i;
	int ret;

	ret = pmdesc_fault_pfns(range, p, n);
	if (ret == -EFAULT)
		return pmdesc_compare_forced(d, range->start, index, n);
	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		/* Without faulting: not mapped, or PROT_NONE. */
		if (!(p->pfns[i] & HMM_PFN_VALID))
			return pmdesc_compare_forced(d, range->start, index, n);
		if (hmm_pfn_to_page(p->pfns[i]) != d->pages[index + i])
			return 0;
	}
	return 1;
}

/*
 * Compare range @r, whose first page is recorded at @index, batch by
 * batch; *@batch is the size of the next PFN batch, doubled after each.
 * Return: 1 same, 0 different, or -errno (-EINTR when killed).
 */
static int pmdesc_compare_range(struct pmdesc *d, struct hmm_range *range,
				struct pmdesc_pfns *p, const struct pmd_range *r,
				unsigned long index, unsigned long *batch)
{
	unsigned long left, n, to_table_end;
	struct page *huge;
	int ret;

	range->start = ALIGN_DOWN(r->addr, PAGE_SIZE);
	for (left = pmdesc_range_pages(r); left; left -= n) {
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
		huge = pmdesc_probe_huge(range, p, left);
		if (IS_ERR(huge))
			return PTR_ERR(huge);
		if (huge) {
			n = PMDESC_COMPARE_BATCH;
			ret = pmdesc_pages_follow(d, index, huge, n);
		} else {
			to_table_end = (PMD_SIZE - (range->start & ~PMD_MASK)) >>
				       PAGE_SHIFT;
			n = min3(left, *batch, to_table_end);
			*batch = min(2 * *batch, PMDESC_COMPARE_BATCH);
			ret = pmdesc_compare_batch(d, range, p, index, n);
		}
		if (ret <= 0)
			return ret;
		index += n;
		range->start += n << PAGE_SHIFT;
	}
	return 1;
}

/* Every page, faulting for reading: the walk of a copy. */
static const struct pmdesc_walk pmdesc_walk_all = {
	.start = 0, .end = ULONG_MAX, .fault = true,
};

static bool pmdesc_walk_is_all(const struct pmdesc_walk *w)
{
	return w == &pmdesc_walk_all;
}

/*
 * The pages of @r inside @w's span, as a range of whole pages in *@part,
 * and how many pages of @r come before them in *@skip. Return: false when
 * none is inside.
 */
static bool pmdesc_range_clip(const struct pmd_range *r,
			      const struct pmdesc_walk *w,
			      struct pmd_range *part, unsigned long *skip)
{
	u64 first = ALIGN_DOWN(r->addr, PAGE_SIZE);
	u64 start = max_t(u64, first, w->start);
	u64 end = min_t(u64, PAGE_ALIGN(r->addr + r->len), w->end);

	if (start >= end)
		return false;
	part->addr = start;
	part->len = end - start;
	*skip = (start - first) >> PAGE_SHIFT;
	return true;
}

/*
 * Compare the mapping with @d's recorded pages in @w's span under notifier
 * sequence @seq, with @d->mm's mmap lock held. Return: 1 same, 0
 * different, or -errno; -EBUSY when an invalidation raced with the walk.
 */
static int pmdesc_compare_locked(struct pmdesc *d, unsigned long seq,
				 struct pmdesc_pfns *p,
				 const struct pmdesc_walk *w)
{
	struct hmm_range range = {
		.notifier = &d->notifier,
		.notifier_seq = seq,
		.default_flags = w->fault ? HMM_PFN_REQ_FAULT : 0,
	};
	unsigned long batch = PMDESC_COMPARE_FIRST;
	unsigned long index = 0, skip;
	struct pmd_range part;
	unsigned int r;
	int ret = 1;

	for (r = 0; r < d->nr_ranges && ret == 1; r++) {
		if (pmdesc_range_clip(&d->ranges[r], w, &part, &skip))
			ret = pmdesc_compare_range(d, &range, p, &part,
						   index + skip, &batch);
		index += pmdesc_range_pages(&d->ranges[r]);
	}
	return ret;
}

/*
 * One walk under a fresh notifier sequence. Its verdict, same or
 * different, holds only if no invalidation began during the walk: checked
 * under @d->lock, where a "same" of every page also becomes @d's sequence,
 * so that the next copy takes the fast path. Return: 1 same, 0 different,
 * -EBUSY when an invalidation raced with the walk, or -errno.
 */
static int pmdesc_compare_once(struct pmdesc *d, struct pmdesc_pfns *p,
			       const struct pmdesc_walk *w)
{
	unsigned long seq = mmu_interval_read_begin(&d->notifier);
	int ret;

	ret = mmap_read_lock_killable(d->mm);
	if (ret)
		return ret;
	ret = pmdesc_compare_locked(d, seq, p, w);
	mmap_read_unlock(d->mm);
	if (ret < 0)
		return ret;
	spin_lock(&d->lock);
	if (mmu_interval_read_retry(&d->notifier, seq))
		ret = -EBUSY;
	else if (ret && pmdesc_walk_is_all(w))
		WRITE_ONCE(d->seq, seq);
	spin_unlock(&d->lock);
	return ret;
}

/*
 * Is every page of @d's ranges in @w's span still the page it recorded? A
 * walk of the page tables with hmm_range_fault(), taking no page
 * reference, retried while invalidations race with it, for at most
 * HMM_RANGE_DEFAULT_TIMEOUT, as in-tree HMM users bound theirs. With
 * @w->fault, it faults for reading where a page is not mapped (a copy: the
 * page may come back); without, a page not mapped is a page changed (a
 * settle must not fault pages in, nor fill a punched hole). The caller
 * holds a user reference on @d->mm.
 * Return: 1 same, 0 different, or -errno: -EBUSY when invalidations kept
 * racing with the walk until the timeout, -EINTR when killed.
 */
int pmdesc_compare(struct pmdesc *d, const struct pmdesc_walk *w)
{
	unsigned long timeout = jiffies +
				msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	struct pmdesc_pfns pfns;
	int ret;

	pmdesc_pfns_init(&pfns);
	for (;;) {
		ret = pmdesc_compare_once(d, &pfns, w);
		if (ret != -EBUSY || time_after(jiffies, timeout))
			break;
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		cond_resched();
	}
	pmdesc_pfns_free(&pfns);
	return ret;
}

/* No invalidation has touched @d's ranges since its view was known current. */
static bool pmdesc_view_is_current(struct pmdesc *d)
{
	return !mmu_interval_check_retry(&d->notifier, READ_ONCE(d->seq));
}

/* Compare @orig's ranges with its pages; return it, or a fresh descriptor. */
static struct pmdesc *pmdesc_copy_slow(struct pmdesc *orig)
{
	int ret;

	if (!mmget_not_zero(orig->mm))
		return ERR_PTR(-ESRCH);
	ret = pmdesc_compare(orig, &pmdesc_walk_all);
	mmput(orig->mm);
	if (ret < 0)
		return ERR_PTR(ret);
	if (ret)
		return pmdesc_get(orig);
	return __pmdesc_create_user(orig->mm, orig->ranges, orig->nr_ranges,
				    orig->flags, orig->user);
}

/**
 * pmdesc_copy_persistent() - the copy constructor of persistent descriptors
 * @orig: a descriptor created with %PMD_F_PERSISTENT; the caller holds a
 *        reference on it
 *
 * If every page of @orig's ranges is still the page recorded in @orig,
 * returns @orig with one more reference. Otherwise returns a new descriptor
 * with the same address space, ranges and flags over the pages that back the
 * ranges now, charged to @orig's user. @orig keeps its pinned pages.
 *
 * When no invalidation has touched the ranges since @orig's view was last
 * known current, the answer takes O(1), without a walk. Otherwise @orig's
 * ranges are re-walked in @orig's address space (not current's) without
 * taking page references, and pages are pinned only for a new descriptor.
 *
 * Context: Process context; may take the mmap lock of @orig's address
 * space for reading. May sleep.
 * Return: @orig or a new descriptor, each with one reference for the caller,
 * or an ERR_PTR(): -EINVAL for a bad original (NULL, a kernel or physical
 * descriptor, or not persistent);
 * -EFAULT when a page can no longer be pinned (e.g. unmapped); -ENOMEM when
 * out of memory or over RLIMIT_MEMLOCK; -ESRCH when the address space is
 * gone; -EINTR when killed; -EBUSY when invalidations of the span of the
 * ranges (their gaps included) kept racing with the walk for
 * HMM_RANGE_DEFAULT_TIMEOUT (a second): try again.
 */
struct pmdesc *pmdesc_copy_persistent(struct pmdesc *orig)
{
	struct pmdesc *copy = pmdesc_try_copy_persistent(orig);

	if (PTR_ERR_OR_ZERO(copy) != -EAGAIN)
		return copy;
	copy = pmdesc_copy_slow(orig);
	pmdesc_observe_copy(orig, copy, false);
	return copy;
}
EXPORT_SYMBOL_GPL(pmdesc_copy_persistent);

/**
 * pmdesc_try_copy_persistent() - the copy constructor's answer without a walk
 * @orig: as for pmdesc_copy_persistent()
 *
 * Answers as pmdesc_copy_persistent() does when its O(1) path can: while no
 * invalidation that can replace a page has touched @orig's ranges since its
 * view was last known current. Otherwise answers nothing: only
 * pmdesc_copy_persistent() can tell. For callers that must not sleep, and
 * for batches that answer the common case under one lock.
 *
 * Context: Any context. Takes no lock.
 * Return: @orig with one more reference; ERR_PTR(-EAGAIN) when only
 * pmdesc_copy_persistent() can answer; ERR_PTR(-EINVAL) for a bad original
 * (NULL, a kernel or physical descriptor, or not persistent).
 */
struct pmdesc *pmdesc_try_copy_persistent(struct pmdesc *orig)
{
	struct pmdesc *copy;

	if (!orig || !pmdesc_is_persistent(orig)) {
		copy = ERR_PTR(-EINVAL);
	} else if (pmdesc_view_is_current(orig)) {
		kref_get(&orig->kref);
		copy = orig;
	} else {
		return ERR_PTR(-EAGAIN);
	}
	pmdesc_observe_copy(orig, copy, !IS_ERR(copy));
	return copy;
}
EXPORT_SYMBOL_GPL(pmdesc_try_copy_persistent);

/**
 * pmdesc_watch() - be told when a descriptor's backing may have changed
 * @d: a user descriptor created with %PMD_F_PERSISTENT
 * @w: its &struct pmdesc_watcher.changed is called on every invalidation of
 *     @d's ranges that can replace a page, from now on; NULL to stop. A
 *     descriptor has one watcher: @w replaces the one before. @w must stay
 *     valid until @d is released or @w is replaced: once pmdesc_watch()
 *     returned, no callback runs for the watcher it replaced, which the
 *     caller may then free.
 *
 * Lets a cache tell without a copy that a copy would still return @d:
 * after pmdesc_copy_persistent() returned @d, and until @w is called, a
 * copy would return @d again. So that no invalidation falls between the
 * last copy (or the creation) and the watch, pmdesc_watch() calls @w once
 * before it returns when one came in between. A call may be spurious (a copy then returns
 * @d through the slow path); no change goes without one. Protection-only
 * changes (mprotect(), NUMA hinting, fork()'s write protection,
 * userfaultfd write-protect, soft-dirty clearing) make none. A clear by the
 * only thread of @d's process (MADV_DONTNEED, a VMA split, a punched hole)
 * makes one only if a recorded page is no longer mapped where it was,
 * found before that thread returns to userspace.
 *
 * Context: Any context but an invalidation callback of @d's address space;
 * takes and releases a spinlock that those callbacks take.
 * Return: 0, or -EINVAL when @d is not a persistent user descriptor.
 */
int pmdesc_watch(struct pmdesc *d, struct pmdesc_watcher *w)
{
	if (!pmdesc_is_persistent(d))
		return -EINVAL;
	/* Waits for an invalidation callback that may be calling the old one. */
	spin_lock(&d->lock);
	d->watcher = w;
	/* Under the lock: a later invalidation calls @w itself. */
	if (w && !pmdesc_view_is_current(d))
		w->changed(w);
	spin_unlock(&d->lock);
	return 0;
}
EXPORT_SYMBOL_GPL(pmdesc_watch);
