/* SPDX-License-Identifier: GPL-2.0 */
/*
 * /dev/pmd inside pmdesc.ko: what its two files share. pmd_ioctl.c holds
 * the open file, its handle table and the ioctls; pmd_status.c the status
 * area, one word per persistent handle, mapped read-only. Both use only
 * the exported pmdesc API.
 */
#ifndef _PMD_DEV_H
#define _PMD_DEV_H

#include <linux/atomic.h>
#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/xarray.h>

struct file;
struct pmdesc;

/**
 * struct pmdesc_file - one open /dev/pmd
 * @mm: the opener's address space, the only one allowed to issue ioctls
 * @lock: serializes the handles' reference counts and their removal
 * @handles: handle -> struct pmdesc_handle; a new handle stays reserved
 *           (NULL) until nothing can make its creation fail
 * @nr_handles: handles in @handles, reserved ones included
 * @status_pages: the status area, page index -> struct page; a page is
 *                allocated (charged to the opener) when the first word in it
 *                is handed out and lives until the file is closed
 * @status_ida: the words in use, at most %PMD_STATUS_WORDS
 */
struct pmdesc_file {
	struct mm_struct *mm;
	struct mutex lock; /* handles' refs and removal */
	struct xarray handles;
	atomic_t nr_handles;
	struct xarray status_pages;
	struct ida status_ida;
};

/**
 * struct pmdesc_handle - what a handle names
 * @desc: the descriptor
 * @refs: references on @desc that the handle holds, at least one
 * @status_index: the word of the status area that counts @desc's
 *                invalidations, or %PMD_STATUS_NONE
 */
struct pmdesc_handle {
	struct pmdesc *desc;
	unsigned int refs;
	u32 status_index;
};

/* pmd_status.c */
void pmdesc_status_init(struct pmdesc_file *pf);
void pmdesc_status_destroy(struct pmdesc_file *pf);
s64 pmdesc_status_reserve(struct pmdesc_file *pf, struct pmdesc *d);
void pmdesc_status_unreserve(struct pmdesc_file *pf, u32 index);
void pmdesc_status_attach(struct pmdesc_file *pf, struct pmdesc_handle *h);
void pmdesc_status_detach(struct pmdesc_file *pf, struct pmdesc_handle *h);
int pmdesc_status_mmap(struct file *filp, struct vm_area_struct *vma);

/* pmd_ioctl.c */
int pmdesc_dev_register(void);
void pmdesc_dev_unregister(void);

#endif /* _PMD_DEV_H */
