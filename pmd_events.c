// SPDX-License-Identifier: GPL-2.0
/*
 * The event queue of an open /dev/pmd: the handles whose status word moved
 * since they were last reported, oldest first, each at most once, read as
 * struct pmd_event records with read() and watched with poll(). A handle
 * is its own queue entry, so queueing allocates nothing and the queue
 * never holds more entries than the file has handles.
 *
 * Locking: a handle is queued by its descriptor's invalidation callback,
 * under the descriptor's spinlock, which nests &pmdesc_file.events_lock.
 * A reader holds &pmdesc_file.lock, which keeps the handles it takes from
 * the queue from being released, and takes events_lock only to unlink
 * them; it sleeps for events with no lock held.
 */
#include <linux/fs.h>
#include <linux/list.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "pmd_dev.h"

void pmdesc_events_init(struct pmdesc_file *pf)
{
	spin_lock_init(&pf->events_lock);
	INIT_LIST_HEAD(&pf->events);
	init_waitqueue_head(&pf->events_wait);
}

/**
 * pmdesc_handle_changed() - the watcher of a handle's descriptor
 * @w: &struct pmdesc_handle.watcher of an attached handle
 *
 * Moves the handle's word, queues the handle unless it is queued already,
 * and wakes the readers.
 *
 * Context: the descriptor's invalidation callback, under its spinlock; any
 * context an invalidation runs in (reclaim included). Takes events_lock
 * and the wait queue's lock.
 */
void pmdesc_handle_changed(struct pmdesc_watcher *w)
{
	struct pmdesc_handle *h = container_of(w, struct pmdesc_handle,
					       watcher);
	struct pmdesc_file *pf = h->pf;

	atomic64_inc(h->word);
	spin_lock(&pf->events_lock);
	if (list_empty(&h->event))
		list_add_tail(&h->event, &pf->events);
	spin_unlock(&pf->events_lock);
	wake_up_interruptible_poll(&pf->events_wait, EPOLLIN | EPOLLRDNORM);
}

/*
 * Drop @h's pending event, if any. Context: @h's watcher is detached, so
 * nothing queues @h again; the caller holds @pf->lock or is the file's
 * release.
 */
void pmdesc_events_forget(struct pmdesc_file *pf, struct pmdesc_handle *h)
{
	spin_lock(&pf->events_lock);
	list_del_init(&h->event);
	spin_unlock(&pf->events_lock);
}

/* Unlink the oldest queued handle, or return NULL. Context: @pf->lock. */
static struct pmdesc_handle *pmdesc_events_pop(struct pmdesc_file *pf)
{
	struct pmdesc_handle *h;

	spin_lock(&pf->events_lock);
	h = list_first_entry_or_null(&pf->events, struct pmdesc_handle, event);
	if (h)
		list_del_init(&h->event);
	spin_unlock(&pf->events_lock);
	return h;
}

/* Queue @h again at the head, unless it was queued again meanwhile. */
static void pmdesc_events_unpop(struct pmdesc_file *pf,
				struct pmdesc_handle *h)
{
	spin_lock(&pf->events_lock);
	if (list_empty(&h->event))
		list_add(&h->event, &pf->events);
	spin_unlock(&pf->events_lock);
}

static bool pmdesc_events_pending(struct pmdesc_file *pf)
{
	return !list_empty_careful(&pf->events);
}

/*
 * Copy up to @max records of queued handles to @ubuf, unlinking each.
 * Return: the records copied (0 when none is queued), or -EFAULT when not
 * even one could be (the handle that failed is queued again).
 */
static ssize_t pmdesc_events_copy(struct pmdesc_file *pf,
				  struct pmd_event __user *ubuf, size_t max)
{
	struct pmd_event ev = {};
	struct pmdesc_handle *h;
	ssize_t n, ret = 0;

	mutex_lock(&pf->lock);
	for (n = 0; n < max; n++) {
		h = pmdesc_events_pop(pf);
		if (!h)
			break;
		ev.handle = h->handle;
		ev.cookie = h->cookie;
		if (copy_to_user(&ubuf[n], &ev, sizeof(ev))) {
			pmdesc_events_unpop(pf, h);
			ret = -EFAULT;
			break;
		}
	}
	mutex_unlock(&pf->lock);
	return n ? n : ret;
}

/**
 * pmdesc_events_read() - read() of /dev/pmd: the event queue
 * @filp: the file
 * @buf: room for @count bytes of struct pmd_event records
 * @count: bytes; only whole records are returned
 * @ppos: unused, the queue has no position
 *
 * Context: Process context; sleeps until an event is queued unless
 * O_NONBLOCK.
 * Return: the bytes of the records returned; -EPERM from an address space
 * but the opener's, -EINVAL for room for no record, -EAGAIN when none is
 * queued and O_NONBLOCK, -ERESTARTSYS when a signal came while waiting,
 * -EFAULT when @buf cannot take one record.
 */
ssize_t pmdesc_events_read(struct file *filp, char __user *buf, size_t count,
			   loff_t *ppos)
{
	struct pmdesc_file *pf = filp->private_data;
	size_t max = count / sizeof(struct pmd_event);
	ssize_t n;
	int ret;

	if (current->mm != pf->mm)
		return -EPERM;
	if (!max)
		return -EINVAL;
	for (;;) {
		n = pmdesc_events_copy(pf, (struct pmd_event __user *)buf, max);
		if (n)
			return n < 0 ? n : n * sizeof(struct pmd_event);
		if (filp->f_flags & O_NONBLOCK)
			return -EAGAIN;
		ret = wait_event_interruptible(pf->events_wait,
					       pmdesc_events_pending(pf));
		if (ret)
			return ret;
	}
}

/* poll() of /dev/pmd: readable while an event is queued. */
__poll_t pmdesc_events_poll(struct file *filp, poll_table *wait)
{
	struct pmdesc_file *pf = filp->private_data;

	poll_wait(filp, &pf->events_wait, wait);
	return pmdesc_events_pending(pf) ? EPOLLIN | EPOLLRDNORM : 0;
}
