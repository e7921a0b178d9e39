/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What pmdesc.ko needs from kernels older than the one it is written for
 * (6.12), in one place. Kbuild greps the headers of the kernel it builds
 * against and defines:
 *
 * PMDESC_OLD_GUP: pin_user_pages_remote() and get_user_pages_remote() still
 *	have a vmas argument, so GUP is that of 6.4 or older (Debian's 6.1).
 *	Such a GUP also lacks two
 *	rules that later kernels apply to FOLL_LONGTERM pins themselves:
 *	reliable read-only pins in private (COW) mappings, which unshare the
 *	page first (6.2), and the refusal of writable pins of file mappings
 *	that need dirty tracking (6.5). pmdesc_old_gup_check() and
 *	pmdesc_old_gup_unshare() apply them, one VMA at a time, under the
 *	mmap lock.
 * PMDESC_OLD_VM_FLAGS: no vm_flags_set()/vm_flags_clear() yet (6.2 and
 *	older), vm_flags is written directly.
 */
#ifndef _PMD_COMPAT_H
#define _PMD_COMPAT_H

#include <linux/backing-dev.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/sched.h>

/* io_uring and vhost workers: PF_USER_WORKER since 6.4, PF_IO_WORKER before. */
#ifdef PF_USER_WORKER
#define PMDESC_PF_USER_WORKER PF_USER_WORKER
#else
#define PMDESC_PF_USER_WORKER 0
#endif

#ifdef PMDESC_OLD_GUP

/* GUP-fast cannot see VMAs: every pin goes through the VMA rules below. */
#define PMDESC_PIN_NEEDS_VMA true

/* Pin in @mm, whose mmap lock the caller holds; current's own mm as such. */
static inline long pmdesc_pin_user_pages_remote(struct mm_struct *mm,
						unsigned long start,
						unsigned long nr_pages,
						unsigned int gup_flags,
						struct page **pages)
{
	if (mm == current->mm)
		return pin_user_pages(start, nr_pages, gup_flags, pages, NULL);
	return pin_user_pages_remote(mm, start, nr_pages, gup_flags, pages,
				     NULL, NULL);
}

/* A reference on the page at @addr of @mm, whose mmap lock the caller holds. */
static inline long pmdesc_get_user_page_remote(struct mm_struct *mm,
					       unsigned long addr,
					       unsigned int gup_flags,
					       struct page **page)
{
	return get_user_pages_remote(mm, addr, 1, gup_flags, page, NULL, NULL);
}

/* 6.5's vma_needs_dirty_tracking(): may the filesystem see the writes? */
static inline bool pmdesc_vma_needs_dirty_tracking(struct vm_area_struct *vma)
{
	const struct vm_operations_struct *ops = vma->vm_ops;
	struct address_space *mapping;

	if ((vma->vm_flags & (VM_WRITE | VM_SHARED)) != (VM_WRITE | VM_SHARED))
		return false;
	if (ops && (ops->page_mkwrite || ops->pfn_mkwrite))
		return true;
	if ((vma->vm_flags & VM_PFNMAP) || !vma->vm_file)
		return false;
	mapping = vma->vm_file->f_mapping;
	return mapping && mapping_can_writeback(mapping);
}

/* A writable long-term pin of a file mapping that needs dirty tracking. */
static inline int pmdesc_old_gup_check(struct vm_area_struct *vma,
				       unsigned int gup_flags)
{
	if (!(gup_flags & FOLL_WRITE) || vma_is_anonymous(vma))
		return 0;
	return pmdesc_vma_needs_dirty_tracking(vma) ? -EFAULT : 0;
}

/*
 * A read-only pin in a COW mapping may have pinned the shared zero page or
 * a page-cache page, which the process replaces by its own copy when it
 * writes; 6.12 unshares first (anonymous pages already were). Re-pin each
 * such page of @pages (@nr pinned from @addr in @vma) with a write fault,
 * forced where the mapping is not writable, as ptrace does and as RDMA did
 * before 6.2: the page pinned is then the one the process keeps. hugetlb
 * takes no forced write on 6.1: such a page is -EFAULT.
 * Return: 0, or -errno with *@nr cut to the pages still pinned.
 */
static inline int pmdesc_old_gup_unshare(struct mm_struct *mm,
					 struct vm_area_struct *vma,
					 unsigned long addr,
					 unsigned int gup_flags,
					 struct page **pages, long *nr)
{
	long i, ret;

	if ((gup_flags & FOLL_WRITE) || !is_cow_mapping(vma->vm_flags))
		return 0;
	gup_flags |= FOLL_WRITE;
	if (!(vma->vm_flags & VM_WRITE))
		gup_flags |= FOLL_FORCE;
	for (i = 0; i < *nr; i++) {
		if (PageAnon(pages[i]))
			continue;
		unpin_user_page(pages[i]);
		ret = pmdesc_pin_user_pages_remote(mm, addr + i * PAGE_SIZE, 1,
						   gup_flags, &pages[i]);
		if (ret != 1) {
			unpin_user_pages(pages + i + 1, *nr - i - 1);
			*nr = i;
			return ret < 0 ? ret : -EFAULT;
		}
	}
	return 0;
}

#else /* !PMDESC_OLD_GUP */

#define PMDESC_PIN_NEEDS_VMA false

static inline long pmdesc_pin_user_pages_remote(struct mm_struct *mm,
						unsigned long start,
						unsigned long nr_pages,
						unsigned int gup_flags,
						struct page **pages)
{
	return pin_user_pages_remote(mm, start, nr_pages, gup_flags, pages,
				     NULL);
}

static inline long pmdesc_get_user_page_remote(struct mm_struct *mm,
					       unsigned long addr,
					       unsigned int gup_flags,
					       struct page **page)
{
	return get_user_pages_remote(mm, addr, 1, gup_flags, page, NULL);
}

/* GUP applies the rules itself. */
static inline int pmdesc_old_gup_check(struct vm_area_struct *vma,
				       unsigned int gup_flags)
{
	return 0;
}

static inline int pmdesc_old_gup_unshare(struct mm_struct *mm,
					 struct vm_area_struct *vma,
					 unsigned long addr,
					 unsigned int gup_flags,
					 struct page **pages, long *nr)
{
	return 0;
}

#endif /* PMDESC_OLD_GUP */

#ifdef PMDESC_OLD_VM_FLAGS
static inline void vm_flags_set(struct vm_area_struct *vma, vm_flags_t flags)
{
	vma->vm_flags |= flags;
}

static inline void vm_flags_clear(struct vm_area_struct *vma,
				  vm_flags_t flags)
{
	vma->vm_flags &= ~flags;
}
#endif /* PMDESC_OLD_VM_FLAGS */

#endif /* _PMD_COMPAT_H */
