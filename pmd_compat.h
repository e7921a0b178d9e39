/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What pmdesc.ko needs from kernels older than the one it is written for
 * (6.12), in one place. Kbuild greps the headers of the kernel it builds
 * against and defines:
 *
 * PMDESC_OLD_GUP: pin_user_pages_remote() still has a vmas argument, so GUP
 *	is that of 6.4 or older (Debian's 6.1). Such a GUP also lacks two
 *	rules that later kernels apply to FOLL_LONGTERM pins themselves:
 *	reliable read-only pins in private (COW) mappings, which unshare the
 *	page first (6.2), and the refusal of writable pins of file mappings
 *	that need dirty tracking (6.5). pmdesc_old_gup_flags() applies both,
 *	one VMA at a time, under the mmap lock.
 * PMDESC_OLD_VM_FLAGS: no vm_flags_set()/vm_flags_clear() yet (6.2 and
 *	older), vm_flags is written directly.
 */
#ifndef _PMD_COMPAT_H
#define _PMD_COMPAT_H

#include <linux/backing-dev.h>
#include <linux/fs.h>
#include <linux/hugetlb.h>
#include <linux/mm.h>

#ifdef PMDESC_OLD_GUP

/* GUP-fast cannot see VMAs: every pin goes through the VMA rules below. */
#define PMDESC_PIN_NEEDS_VMA true

static inline long pmdesc_pin_user_pages_remote(struct mm_struct *mm,
						unsigned long start,
						unsigned long nr_pages,
						unsigned int gup_flags,
						struct page **pages)
{
	return pin_user_pages_remote(mm, start, nr_pages, gup_flags, pages,
				     NULL, NULL);
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

/*
 * The GUP flags of a long-term pin in @vma, as 6.12's GUP would treat it:
 * a writable pin of a file mapping that needs dirty tracking is -EFAULT; a
 * read-only pin in a readable COW mapping breaks COW first (FOLL_WRITE, and
 * FOLL_FORCE where the mapping is not writable, as ptrace does and as RDMA
 * did before 6.2), so that the page pinned is the one the process keeps.
 * hugetlb takes no FOLL_FORCE write; its read-only private mappings keep
 * the old rule.
 */
static inline int pmdesc_old_gup_flags(struct vm_area_struct *vma,
				       unsigned int *gup_flags)
{
	vm_flags_t vm_flags = vma->vm_flags;

	if (*gup_flags & FOLL_WRITE)
		return !vma_is_anonymous(vma) &&
		       pmdesc_vma_needs_dirty_tracking(vma) ? -EFAULT : 0;
	if (!is_cow_mapping(vm_flags) || !(vm_flags & VM_READ))
		return 0;
	if (!(vm_flags & VM_WRITE)) {
		if (is_vm_hugetlb_page(vma))
			return 0;
		*gup_flags |= FOLL_FORCE;
	}
	*gup_flags |= FOLL_WRITE;
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

/* GUP applies the rules itself. */
static inline int pmdesc_old_gup_flags(struct vm_area_struct *vma,
				       unsigned int *gup_flags)
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
