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
 * When the only thread of the descriptor's process raises one, nothing in
 * that process can look at a status word, or at the page, before the
 * thread returns to userspace. So the watcher is told then, from task
 * work, and only if a walk of the page tables, without faulting, finds a
 * recorded page that is not mapped where it was: once the call that
 * invalidated returns, the word has moved if a page changed, and not
 * otherwise. With more users of the mm (threads, vfork, io_uring's
 * SQPOLL), another could see the new page first, so they tell at once, as
 * do kernel threads and other processes (reclaim, process_madvise()). The
 * copy's fast path is unaffected: the notifier sequence moves at once.
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
	int same = -ESRCH;

	/* From here an invalidation by current needs a walk of its own. */
	spin_lock(&d->lock);
	d->settle_task = NULL;
	span = d->settle_span;
	spin_unlock(&d->lock);
	if (mmget_not_zero(d->mm)) {
		same = pmdesc_compare(d, &span);
		mmput(d->mm);
	}
	/* No page mapped where one was recorded: a change, not a failure. */
	if (same == -EFAULT)
		same = 0;
	pmdesc_observe_settle(same);
	if (same != 1) {
		spin_lock(&d->lock);
		pmdesc_tell_watcher(d);
		spin_unlock(&d->lock);
	}
	pmdesc_put(d);
	/*
	 * Last: the module may go once this returns (there is no
	 * module_put_and_kthread_exit() for task work; what is left of this
	 * function is its return).
	 */
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

/*
 * A clear by a thread that is its process's only user of the mm: no other
 * can see a replaced page before this one returns. Not while @d is being
 * built (a failed create frees it at once), nor with no watcher to tell.
 * Under @d->lock.
 */
static bool pmdesc_may_settle(const struct pmdesc *d,
			      const struct mmu_notifier_range *range)
{
	return range->event == MMU_NOTIFY_CLEAR && current->mm == d->mm &&
	       !(current->flags & PMDESC_NO_SETTLE) &&
	       atomic_read(&d->mm->mm_users) == 1 && READ_ONCE(d->id) &&
	       d->watcher;
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
	if (!pmdesc_may_settle(d, range))
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
	/*
	 * Fails only once current is exiting, which it is not. Were it to,
	 * the reference cannot be put here (a last put in an invalidation
	 * callback would wait for itself): refcount_dec() leaks and warns.
	 */
	if (WARN_ON_ONCE(task_work_add(current, &d->settle, TWA_RESUME))) {
		refcount_dec(&d->kref.refcount);
		module_put(THIS_MODULE);
		return false;
	}
	d->settle_task = current;
	return true;
}
