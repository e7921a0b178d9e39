// SPDX-License-Identifier: GPL-2.0
/*
 * The status area of an open /dev/pmd: an array of __u64 words, one per
 * persistent handle, each counting its descriptor's invalidations that can
 * replace a page, through pmdesc_watch(). Userspace maps it read-only and
 * checks a buffer with one load. Its pages are allocated, charged to the
 * opener, as words are handed out, lowest index first.
 */
#include <linux/gfp.h>
#include <linux/idr.h>
#include <linux/mm.h>
#include <linux/xarray.h>

#include "pmd.h"
#include "pmd_compat.h"
#include "pmd_dev.h"

#define PMDESC_WORDS_PER_PAGE (PAGE_SIZE / sizeof(__u64))

void pmdesc_status_init(struct pmdesc_file *pf)
{
	xa_init(&pf->status_pages);
	ida_init(&pf->status_ida);
}

/* Context: the file is being released: no handle and no mapping is left. */
void pmdesc_status_destroy(struct pmdesc_file *pf)
{
	unsigned long index;
	struct page *page;

	ida_destroy(&pf->status_ida);
	xa_for_each(&pf->status_pages, index, page)
		__free_page(page);
	xa_destroy(&pf->status_pages);
}

/* The page of the status area that holds word @index, allocated if need be. */
static struct page *pmdesc_status_page(struct pmdesc_file *pf, u32 index)
{
	unsigned long pgoff = index / PMDESC_WORDS_PER_PAGE;
	struct page *page, *old;

	page = xa_load(&pf->status_pages, pgoff);
	if (page)
		return page;
	page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!page)
		return NULL;
	old = xa_cmpxchg(&pf->status_pages, pgoff, NULL, page,
			 GFP_KERNEL_ACCOUNT);
	if (!old)
		return page;
	__free_page(page);
	return xa_is_err(old) ? NULL : old;
}

static atomic64_t *pmdesc_status_word(struct pmdesc_file *pf, u32 index)
{
	struct page *page = xa_load(&pf->status_pages,
				    index / PMDESC_WORDS_PER_PAGE);

	return (atomic64_t *)page_address(page) +
	       index % PMDESC_WORDS_PER_PAGE;
}

/**
 * pmdesc_status_reserve() - reserve a word for a new handle of @d
 * @pf: the file
 * @d: the descriptor; only persistent ones get a word
 *
 * Context: Process context; may sleep.
 * Return: the word's index, or %PMD_STATUS_NONE when @d is not persistent;
 * -ENOMEM when out of memory, -EMFILE when every word is taken (which
 * max_handles <= %PMD_STATUS_MAX_WORDS prevents).
 */
s64 pmdesc_status_reserve(struct pmdesc_file *pf, struct pmdesc *d)
{
	int index;

	if (!(pmdesc_flags(d) & PMD_F_PERSISTENT))
		return PMD_STATUS_NONE;
	index = ida_alloc_max(&pf->status_ida, PMD_STATUS_MAX_WORDS - 1,
			      GFP_KERNEL_ACCOUNT);
	if (index == -ENOSPC)
		return -EMFILE;
	if (index < 0)
		return index;
	if (!pmdesc_status_page(pf, index)) {
		ida_free(&pf->status_ida, index);
		return -ENOMEM;
	}
	return index;
}

/* Give back a word reserved by pmdesc_status_reserve() and never attached. */
void pmdesc_status_unreserve(struct pmdesc_file *pf, u32 index)
{
	if (index != PMD_STATUS_NONE)
		ida_free(&pf->status_ida, index);
}

/*
 * Make the reserved word count @h's invalidations, and queue @h's events.
 * The word moves first: it may have been another handle's, and a sample
 * taken of it then must not match now.
 */
void pmdesc_status_attach(struct pmdesc_file *pf, struct pmdesc_handle *h)
{
	if (h->status_index == PMD_STATUS_NONE)
		return;
	h->word = pmdesc_status_word(pf, h->status_index);
	atomic64_inc(h->word);
	h->watcher.changed = pmdesc_handle_changed;
	pmdesc_watch(h->desc, &h->watcher);
}

/*
 * Stop @h's word counting and drop its pending event: once this returns,
 * nothing writes the word and @h is not queued.
 */
void pmdesc_status_detach(struct pmdesc_file *pf, struct pmdesc_handle *h)
{
	if (h->status_index == PMD_STATUS_NONE)
		return;
	pmdesc_watch(h->desc, NULL);
	pmdesc_events_forget(pf, h);
	ida_free(&pf->status_ida, h->status_index);
}

/*
 * A page of the status area: one that holds a word handed out, else none;
 * and none for a child that inherited the mapping (MADV_DOFORK undoes
 * VM_DONTCOPY).
 */
static vm_fault_t pmdesc_status_fault(struct vm_fault *vmf)
{
	struct pmdesc_file *pf = vmf->vma->vm_file->private_data;
	struct page *page = xa_load(&pf->status_pages, vmf->pgoff);

	if (!page || vmf->vma->vm_mm != pf->mm)
		return VM_FAULT_SIGBUS;
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct pmdesc_status_vm_ops = {
	.fault = pmdesc_status_fault,
};

/*
 * Map the status area, read-only, for the opener only. No mapping of it may
 * ever become writable or copied: a private copy of a word would never move
 * again. So the mapping may not become writable (no VM_MAYWRITE, which also
 * stops FOLL_FORCE writes through /proc/<pid>/mem or ptrace), is not
 * inherited by a child (VM_DONTCOPY; it belongs to the opener's mm) and
 * cannot grow.
 */
int pmdesc_status_mmap(struct file *filp, struct vm_area_struct *vma)
{
	struct pmdesc_file *pf = filp->private_data;

	if (current->mm != pf->mm)
		return -EPERM;
	if (vma->vm_flags & VM_WRITE)
		return -EPERM;
	if (vma->vm_pgoff || vma->vm_end - vma->vm_start > PMD_STATUS_MAX_SIZE)
		return -EINVAL;
	vm_flags_clear(vma, VM_MAYWRITE);
	vm_flags_set(vma, VM_DONTCOPY | VM_DONTDUMP | VM_DONTEXPAND);
	vma->vm_ops = &pmdesc_status_vm_ops;
	return 0;
}
