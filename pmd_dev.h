/* SPDX-License-Identifier: GPL-2.0 */
/*
 * /dev/pmd inside pmdesc.ko: what its files share. pmd_ioctl.c holds the
 * open file, its handle table and the ioctls; pmd_status.c the status area,
 * one word per persistent handle, mapped read-only; pmd_events.c the queue
 * of handles whose word moved, read by read() and poll(). All use only the
 * exported pmdesc API.
 */
#ifndef _PMD_DEV_H
#define _PMD_DEV_H

#include <linux/atomic.h>
#include <linux/idr.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "pmd.h"

struct file;

/**
 * struct pmdesc_file - one open /dev/pmd
 * @mm: the opener's address space, the only one allowed to issue ioctls
 *      and read events
 * @lock: serializes the handles' reference counts and their removal, and
 *        the reading of events, so that a handle taken from @events
 *        stays while it is reported
 * @handles: handle -> struct pmdesc_handle; a new handle stays reserved
 *           (NULL) until nothing can make its creation fail
 * @nr_handles: handles in @handles, reserved ones included
 * @status_pages: the status area, page index -> struct page; a page is
 *                allocated (charged to the opener) when the first word in it
 *                is handed out and lives until the file is closed
 * @status_ida: the words in use, at most %PMD_STATUS_MAX_WORDS
 * @events_lock: guards @events and the handles' @event links; taken inside
 *               a descriptor's lock, in its invalidation callback
 * @events: handles whose word moved since they were last read, oldest first
 * @events_wait: readers and pollers of @events
 */
struct pmdesc_file {
	struct mm_struct *mm;
	struct mutex lock; /* handles' refs and removal; reading @events */
	struct xarray handles;
	atomic_t nr_handles;
	struct xarray status_pages;
	struct ida status_ida;
	spinlock_t events_lock; /* @events, handles' @event */
	struct list_head events;
	wait_queue_head_t events_wait;
};

/**
 * struct pmdesc_handle - what a handle names
 * @desc: the descriptor
 * @refs: references on @desc that the handle holds, at least one
 * @handle: the handle's number in &struct pmdesc_file.handles
 * @cookie: the caller's value for its events
 * @status_index: the word of the status area that counts @desc's
 *                invalidations, or %PMD_STATUS_NONE
 * @pf: the file the handle belongs to
 * @word: word @status_index, once attached
 * @watcher: watches @desc while attached
 * @event: in &struct pmdesc_file.events while an event is pending, else
 *         empty
 */
struct pmdesc_handle {
	struct pmdesc *desc;
	unsigned int refs;
	u32 handle;
	u64 cookie;
	u32 status_index;
	struct pmdesc_file *pf;
	atomic64_t *word;
	struct pmdesc_watcher watcher;
	struct list_head event;
};

/* pmd_status.c */
void pmdesc_status_init(struct pmdesc_file *pf);
void pmdesc_status_destroy(struct pmdesc_file *pf);
s64 pmdesc_status_reserve(struct pmdesc_file *pf, struct pmdesc *d);
void pmdesc_status_unreserve(struct pmdesc_file *pf, u32 index);
void pmdesc_status_attach(struct pmdesc_file *pf, struct pmdesc_handle *h);
void pmdesc_status_detach(struct pmdesc_file *pf, struct pmdesc_handle *h);
int pmdesc_status_mmap(struct file *filp, struct vm_area_struct *vma);

/* pmd_events.c */
void pmdesc_events_init(struct pmdesc_file *pf);
void pmdesc_handle_changed(struct pmdesc_watcher *w);
void pmdesc_events_forget(struct pmdesc_file *pf, struct pmdesc_handle *h);
ssize_t pmdesc_events_read(struct file *filp, char __user *buf, size_t count,
			   loff_t *ppos);
__poll_t pmdesc_events_poll(struct file *filp, poll_table *wait);

/* pmd_ioctl.c */
int pmdesc_dev_register(void);
void pmdesc_dev_unregister(void);

#endif /* _PMD_DEV_H */
