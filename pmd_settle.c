// SPDX-License-Identifier: GPL-2.0
/*
 * Settling invalidations that may or may not have replaced a page.
 *
 * MMU_NOTIFY_CLEAR is raised by zaps that do replace pages (MADV_DONTNEED,
 * a punched hole) and by walks that change none of a pinned page's
 * mapping: a VMA split at an address that is not PMD aligned invalidates
 * the whole PMD around it, huge or not (split_huge_pmd_address()), and
 * reclaim or migration back off a pinned page. Telling the watcher for
 * every one makes a registration cache evict what it did not need to.
 *
 * When a thread of the descriptor's own process raises one, it cannot look
 * at a status word before it returns to userspace. So the watcher is told
 * then, from task work, and only if a walk of the page tables, without
 * faulting, finds a recorded page that is not mapped where it was: once
 * the call that invalidated returns, the word has moved if a page changed,
 * and not otherwise. Other contexts (kernel threads, io_uring and vhost
 * workers, other processes' reclaim or process_madvise()) tell at once.
 * The copy's fast path is unaffected: the notifier sequence moves at once.
 */
#include <linux/kref.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/spinlock.h>
#include <linux/task_work.h>

#include "pmd_compat.h"
#include "pmd_internal.h"

/* Threads that never return to userspace, or only to exit. */
#define PMDESC_NO_SETTLE (PF_KTHREAD | PF_IO_WORKER | PMDESC_PF_USER_WORKER | \
			  PF_EXITING)

/*
 * The task work: walk @d's ranges and tell its watcher if a page is not
 * the recorded one. The walk may reclaim, and so invalidate @d again: that
 * one is settled by a walk of its own, queued behind this one.
 */
static void pmdesc_settle(struct callback_head *work)
{
	struct pmdesc *d = container_of(work, struct pmdesc, settle);
	struct pmdesc_walk span;
	int same = 0;

	/* From here an invalidation by current needs a walk of its own. */
	spin_lock(&d->lock);
	d->settle_task = NULL;
	span = d->settle_span;
	spin_unlock(&d->lock);
	if (mmget_not_zero(d->mm)) {
		same = pmdesc_compare(d, &span);
		mmput(d->mm);
	}
	pmdesc_observe_settle(same == 1);
	if (same != 1) {
		spin_lock(&d->lock);
		pmdesc_tell_watcher(d);
		spin_unlock(&d->lock);
	}
	pmdesc_put(d);
	/* Last: the module may go once this returns (pmdesc_settle_later()). */
	module_put(THIS_MODULE);
}

/* Widen the span of @d's pending settle to @range. Under @d->lock. */
static bool pmdesc_settle_widen(struct pmdesc *d,
				const struct mmu_notifier_range *range)
{
	d->settle_span.start = min(d->settle_span.start, range->start);
	d->settle_span.end = max(d->settle_span.end, range->end);
	return true;
}

/**
 * pmdesc_settle_later() - leave an invalidation to current's return to user
 * @d: a persistent descriptor whose ranges @range invalidates
 * @range: the invalidation
 *
 * Its walk covers the pages of @range only: the clear of a page that
 * is not in @d's ranges (the gap between two of them) costs none.
 *
 * Context: the invalidation callback of @d, under @d->lock.
 * Return: true when current will settle it; false when the caller must
 * tell the watcher now: another event, another context, a settle pending
 * on another thread, or @d being built or released.
 */
bool pmdesc_settle_later(struct pmdesc *d,
			 const struct mmu_notifier_range *range)
{
	/* Not while it is being built: a failed create frees it at once. */
	if (range->event != MMU_NOTIFY_CLEAR || current->mm != d->mm ||
	    (current->flags & PMDESC_NO_SETTLE) || !READ_ONCE(d->id))
		return false;
	/* Current's pending settle walks after this invalidation, too. */
	if (d->settle_task)
		return d->settle_task == current &&
		       pmdesc_settle_widen(d, range);
	/*
	 * The task work runs this module's code, after any file of it may
	 * have been closed: it holds the module as well as @d.
	 */
	if (!try_module_get(THIS_MODULE))
		return false;
	if (!kref_get_unless_zero(&d->kref)) {
		module_put(THIS_MODULE);
		return false;
	}
	d->settle_span = (struct pmdesc_walk){
		.start = range->start, .end = range->end, .fault = false,
	};
	init_task_work(&d->settle, pmdesc_settle);
	/* Fails only once current is exiting, which it is not. */
	if (WARN_ON_ONCE(task_work_add(current, &d->settle, TWA_RESUME))) {
		refcount_dec(&d->kref.refcount);
		module_put(THIS_MODULE);
		return false;
	}
	d->settle_task = current;
	return true;
}
