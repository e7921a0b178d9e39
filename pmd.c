// SPDX-License-Identifier: GPL-2.0
/*
 * pmdesc: persistent memory descriptors.
 *
 * The Linux analogue of IOKit's persistent IOMemoryDescriptor. A user
 * descriptor holds long-term pins (FOLL_LONGTERM) on every page that backs
 * its byte ranges, charged to its owner's RLIMIT_MEMLOCK, and records those
 * pages; its copy constructor is in pmd_copy.c. Descriptors of kernel
 * memory (lowmem or vmalloc) and of physical memory share the accessors;
 * they pin nothing, charge nothing and cannot be copied: their memory
 * belongs to the caller.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/err.h>
#include <linux/export.h>
#include <linux/ioport.h>
#include <linux/kref.h>
#include <linux/memory_hotplug.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "pmd_compat.h"
#include "pmd_internal.h"

static atomic64_t pmdesc_last_id = ATOMIC64_INIT(0);

/* A range is not empty and ends, page aligned, at or below @limit. */
static int pmdesc_check_range(const struct pmd_range *r, u64 limit)
{
	u64 end;

	if (!r->len || check_add_overflow(r->addr, r->len, &end) ||
	    end > limit || PAGE_ALIGN(end) < end)
		return -EINVAL;
	return 0;
}

static void pmdesc_free(struct pmdesc *d)
{
	kvfree(d->pages);
	kfree(d->ranges);
	if (pmdesc_is_user(d))
		mmdrop(d->mm);
	kfree(d);
}

/*
 * Allocate a descriptor over @ranges, which must end at or below @limit: no
 * page array yet, nothing pinned, nothing charged. @mm, when not NULL, is
 * mmgrab()ed.
 */
static struct pmdesc *pmdesc_alloc(struct mm_struct *mm,
				   const struct pmd_range *ranges,
				   unsigned int nr_ranges, u32 flags, u64 limit)
{
	unsigned long nr_pages = 0;
	size_t length = 0;
	struct pmdesc *d;
	unsigned int i;
	int ret;

	if (!ranges || !nr_ranges || nr_ranges > PMD_MAX_RANGES ||
	    (flags & ~PMDESC_F_VALID))
		return ERR_PTR(-EINVAL);
	for (i = 0; i < nr_ranges; i++) {
		ret = pmdesc_check_range(&ranges[i], limit);
		if (ret)
			return ERR_PTR(ret);
		nr_pages += pmdesc_range_pages(&ranges[i]);
		length += ranges[i].len;
	}

	d = kzalloc(sizeof(*d), GFP_KERNEL_ACCOUNT);
	if (!d)
		return ERR_PTR(-ENOMEM);
	d->ranges = kmemdup(ranges, nr_ranges * sizeof(*ranges),
			    GFP_KERNEL_ACCOUNT);
	if (!d->ranges) {
		kfree(d);
		return ERR_PTR(-ENOMEM);
	}

	kref_init(&d->kref);
	spin_lock_init(&d->lock);
	if (mm)
		mmgrab(mm);
	d->mm = mm;
	d->flags = flags;
	d->nr_ranges = nr_ranges;
	d->length = length;
	d->nr_pages = nr_pages;
	return d;
}

/*
 * Charge the descriptor's pages to @user and to the mm, as io_uring and RDMA
 * do, against the caller's RLIMIT_MEMLOCK unless it has CAP_IPC_LOCK. Every
 * descriptor charges all of its pages: no de-duplication.
 */
static int pmdesc_charge(struct pmdesc *d, struct user_struct *user)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	unsigned long locked, pinned;

	locked = atomic_long_add_return(d->nr_pages, &user->locked_vm);
	pinned = atomic64_add_return(d->nr_pages, &d->mm->pinned_vm);
	if ((locked > limit || pinned > limit) && !capable(CAP_IPC_LOCK)) {
		atomic_long_sub(d->nr_pages, &user->locked_vm);
		atomic64_sub(d->nr_pages, &d->mm->pinned_vm);
		return -ENOMEM;
	}
	d->user = get_uid(user);
	return 0;
}

static void pmdesc_uncharge(struct pmdesc *d)
{
	atomic_long_sub(d->nr_pages, &d->user->locked_vm);
	atomic64_sub(d->nr_pages, &d->mm->pinned_vm);
	free_uid(d->user);
	d->user = NULL;
}

/*
 * GUP's errors that mean "this page cannot be pinned" (-EOPNOTSUPP for
 * fsdax, -EREMOTEIO for P2PDMA memory, -EHWPOISON, ...) are -EFAULT for
 * pmdesc's callers; running out of memory and being killed stay what they
 * are.
 */
static int pmdesc_pin_errno(long ret)
{
	if (ret == -ENOMEM || ret == -EINTR)
		return ret;
	/* 6.12 answers -EAGAIN when killed waiting for the mmap lock. */
	return fatal_signal_pending(current) ? -EINTR : -EFAULT;
}

/*
 * A FOLL_PIN adds GUP_PIN_COUNTING_BIAS (1024) to a small folio's
 * reference count, so about two million pins of one page overflow it, and
 * GUP warns. Refuse pins that take a folio past half of that: -ENOMEM, as
 * GUP itself answers a reference it cannot take.
 */
#define PMDESC_MAX_FOLIO_REFS (INT_MAX / 2)

static bool pmdesc_refs_near_limit(struct page **pages, unsigned long n)
{
	struct folio *folio, *last = NULL;
	unsigned long i;

	for (i = 0; i < n; i++) {
		folio = page_folio(pages[i]);
		if (folio == last)
			continue;
		if (folio_ref_count(folio) > PMDESC_MAX_FOLIO_REFS)
			return true;
		last = folio;
	}
	return false;
}

/*
 * Pin up to @nr pages from @addr, within the VMA there, into @pages, with
 * the mmap lock held, applying the rules older GUP lacks (pmd_compat.h).
 * Return: the number of pages pinned, or -errno.
 */
static long pmdesc_pin_in_vma(struct pmdesc *d, unsigned long addr,
			      unsigned long nr, unsigned int gup_flags,
			      struct page **pages)
{
	struct vm_area_struct *vma = vma_lookup(d->mm, addr);
	long pinned;
	int ret;

	if (!vma)
		return -EFAULT;
	ret = pmdesc_old_gup_check(vma, gup_flags);
	if (ret)
		return ret;
	nr = min(nr, (vma->vm_end - addr) >> PAGE_SHIFT);
	pinned = pmdesc_pin_user_pages_remote(d->mm, addr, nr, gup_flags,
					      pages);
	if (pinned <= 0)
		return pinned;
	ret = pmdesc_old_gup_unshare(d->mm, vma, addr, gup_flags, pages,
				     &pinned);
	return pinned ? pinned : ret;
}

/*
 * Pin up to @nr pages from @addr into @pages: with GUP-fast when @fast (the
 * mm is current's), else under the mmap lock, which the caller holds.
 * Return: the number of pages pinned, or -errno.
 */
static long pmdesc_pin_some(struct pmdesc *d, unsigned long addr,
			    unsigned long nr, unsigned int gup_flags, bool fast,
			    struct page **pages)
{
	if (fast)
		return pin_user_pages_fast(addr, min_t(unsigned long, nr,
						       INT_MAX),
					   gup_flags, pages);
	if (PMDESC_PIN_NEEDS_VMA)
		return pmdesc_pin_in_vma(d, addr, nr, gup_flags, pages);
	return pmdesc_pin_user_pages_remote(d->mm, addr, nr, gup_flags, pages);
}

/*
 * Pin the pages of @r into @d->pages from index *@done on; advance *@done
 * past the pages pinned, also on error.
 */
static int pmdesc_pin_range(struct pmdesc *d, const struct pmd_range *r,
			    unsigned int gup_flags, bool fast,
			    unsigned long *done)
{
	unsigned long addr = ALIGN_DOWN(r->addr, PAGE_SIZE);
	unsigned long left = pmdesc_range_pages(r);
	struct page **pages;
	long ret;

	while (left) {
		pages = d->pages + *done;
		ret = pmdesc_pin_some(d, addr, left, gup_flags, fast, pages);
		if (ret <= 0)
			return ret ? pmdesc_pin_errno(ret) : -EFAULT;
		*done += ret;
		if (pmdesc_refs_near_limit(pages, ret))
			return -ENOMEM;
		left -= ret;
		addr += ret << PAGE_SHIFT;
	}
	return 0;
}

/* Pages unpinned per call, so that a large descriptor lets others run. */
#define PMDESC_UNPIN_BATCH 4096UL

static void pmdesc_unpin(struct pmdesc *d, unsigned long nr_pages, bool dirty)
{
	unsigned long i, n;

	for (i = 0; i < nr_pages; i += n) {
		n = min(nr_pages - i, PMDESC_UNPIN_BATCH);
		unpin_user_pages_dirty_lock(d->pages + i, n, dirty);
		cond_resched();
	}
}

/*
 * Pin and record every page of every range, all or none. The caller holds
 * a user reference on @d->mm.
 */
static int pmdesc_pin(struct pmdesc *d)
{
	bool fast = d->mm == current->mm && !PMDESC_PIN_NEEDS_VMA;
	unsigned int gup_flags = FOLL_LONGTERM;
	unsigned long done = 0;
	unsigned int i;
	int ret = 0;

	if (d->flags & PMD_F_DEVICE_WRITES)
		gup_flags |= FOLL_WRITE;
	if (!fast) {
		ret = mmap_read_lock_killable(d->mm);
		if (ret)
			return ret;
	}
	for (i = 0; i < d->nr_ranges && !ret; i++)
		ret = pmdesc_pin_range(d, &d->ranges[i], gup_flags, fast,
				       &done);
	if (!fast)
		mmap_read_unlock(d->mm);
	if (ret)
		pmdesc_unpin(d, done, false);
	return ret;
}

static void pmdesc_release(struct kref *kref)
{
	struct pmdesc *d = container_of(kref, struct pmdesc, kref);

	pmdesc_observe_release(d);
	if (pmdesc_is_user(d)) {
		pmdesc_notifier_remove(d);
		pmdesc_unpin(d, d->nr_pages, d->flags & PMD_F_DEVICE_WRITES);
		pmdesc_uncharge(d);
	}
	pmdesc_free(d);
}

/*
 * Watch the ranges of a new user descriptor (when persistent) and pin its
 * pages, in @d->mm, all or nothing.
 */
static int pmdesc_watch_and_pin(struct pmdesc *d)
{
	int ret;

	if (!mmget_not_zero(d->mm))
		return -ESRCH;
	ret = pmdesc_notifier_insert(d);
	if (!ret) {
		ret = pmdesc_pin(d);
		if (ret)
			pmdesc_notifier_remove(d);
	}
	mmput(d->mm);
	return ret;
}

/*
 * A new user descriptor: validate, charge @user, watch the ranges (when
 * persistent), pin.
 */
static struct pmdesc *pmdesc_user_new(struct mm_struct *mm,
				      const struct pmd_range *ranges,
				      unsigned int nr_ranges, u32 flags,
				      struct user_struct *user)
{
	struct pmdesc *d;
	int ret;

	if (!mm)
		return ERR_PTR(-EINVAL);
	d = pmdesc_alloc(mm, ranges, nr_ranges, flags, mm->task_size);
	if (IS_ERR(d))
		return d;
	/* The limit first: no large array for pins that would be refused. */
	ret = pmdesc_charge(d, user);
	if (ret)
		goto err_free;
	d->pages = kvmalloc_array(d->nr_pages, sizeof(*d->pages),
				  GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!d->pages) {
		ret = -ENOMEM;
		goto err_uncharge;
	}
	ret = pmdesc_watch_and_pin(d);
	if (ret)
		goto err_uncharge;
	/* Built: from now on it is freed only by its last put (pmd_settle.c). */
	WRITE_ONCE(d->id, atomic64_inc_return(&pmdesc_last_id));
	return d;

err_uncharge:
	pmdesc_uncharge(d);
err_free:
	pmdesc_free(d);
	return ERR_PTR(ret);
}

/* pmdesc_create_user() charging @user: also the copy's fresh descriptor. */
struct pmdesc *__pmdesc_create_user(struct mm_struct *mm,
				    const struct pmd_range *ranges,
				    unsigned int nr_ranges, u32 flags,
				    struct user_struct *user)
{
	return pmdesc_observe_create(pmdesc_user_new(mm, ranges, nr_ranges,
						     flags, user),
				     PMDESC_KIND_USER, flags);
}

/**
 * pmdesc_create_user() - describe and pin byte ranges of an address space
 * @mm: the address space; the caller holds a reference on it
 * @ranges: the byte ranges; need not be page aligned; copied
 * @nr_ranges: entries in @ranges, 1 to %PMD_MAX_RANGES
 * @flags: %PMD_F_PERSISTENT, %PMD_F_DEVICE_READS, %PMD_F_DEVICE_WRITES
 *
 * Pins every page that the bytes of the ranges touch with FOLL_LONGTERM
 * (and FOLL_WRITE for %PMD_F_DEVICE_WRITES) and records them. In a private
 * (COW) mapping a read-only pin unshares the page first, so the page
 * recorded is the one the process keeps when it writes later; a writable
 * pin of a file mapping that needs dirty tracking (ext4, xfs, ...: any but
 * shmem, memfd and hugetlb) is refused. Both are what 6.12's GUP does, and
 * pmdesc does on older kernels too. The pins are
 * charged to the calling task's user and to @mm against the caller's
 * RLIMIT_MEMLOCK, unless the caller has CAP_IPC_LOCK. A persistent
 * descriptor also registers an mmu_interval_notifier over its ranges.
 *
 * Context: Process context; may take @mm's mmap lock. May sleep.
 * Return: a descriptor holding one reference, or an ERR_PTR():
 * -EINVAL for bad flags, ranges or counts; -EFAULT when a page cannot be
 * pinned; -ENOMEM when out of memory, over RLIMIT_MEMLOCK, or when a page
 * is pinned so often that its reference count nears its limit; -ESRCH when
 * @mm has no users left; -EINTR when killed.
 */
struct pmdesc *pmdesc_create_user(struct mm_struct *mm,
				  const struct pmd_range *ranges,
				  unsigned int nr_ranges, u32 flags)
{
	return __pmdesc_create_user(mm, ranges, nr_ranges, flags,
				    current_user());
}
EXPORT_SYMBOL_GPL(pmdesc_create_user);

/* The page at kernel virtual address @addr: lowmem or vmalloc. */
static struct page *pmdesc_kernel_page(u64 addr)
{
	const void *p = (const void *)(unsigned long)addr;

	if (is_vmalloc_addr(p))
		return vmalloc_to_page(p);
	if (virt_addr_valid(p))
		return virt_to_page(p);
	return NULL;
}

/* The page at physical address @pa, if it is online memory. */
static struct page *pmdesc_phys_page(u64 pa)
{
	return pfn_to_online_page(PHYS_PFN(pa));
}

/*
 * Is every page that bytes [@pa, @pa + @len) touch System RAM in the
 * resource tree? Holes between RAM ranges have online struct pages too.
 */
static bool pmdesc_phys_is_ram(u64 pa, u64 len)
{
	u64 start = ALIGN_DOWN(pa, PAGE_SIZE), end;

	if (!len || check_add_overflow(pa, len, &end) || end > PHYS_ADDR_MAX ||
	    end - start > SIZE_MAX - PAGE_SIZE)
		return false;
	return region_intersects(start, PAGE_ALIGN(end) - start,
				 IORESOURCE_SYSTEM_RAM, IORES_DESC_NONE) ==
	       REGION_INTERSECTS;
}

/*
 * Build a descriptor of one range of memory that the caller owns, ending at
 * or below @limit: record the page that @page_at() gives for the address of
 * each page of the range; -EINVAL if it gives NULL for any.
 */
static struct pmdesc *pmdesc_owned_new(u64 addr, u64 len, u32 flags,
				       u64 limit,
				       struct page *(*page_at)(u64 addr))
{
	struct pmd_range range = { .addr = addr, .len = len };
	u64 page_addr = ALIGN_DOWN(addr, PAGE_SIZE);
	struct pmdesc *d;
	unsigned long i;
	int ret;

	d = pmdesc_alloc(NULL, &range, 1, flags, limit);
	if (IS_ERR(d))
		return d;
	ret = -ENOMEM;
	d->pages = kvmalloc_array(d->nr_pages, sizeof(*d->pages),
				  GFP_KERNEL | __GFP_NOWARN);
	if (!d->pages)
		goto err_free;
	ret = -EINVAL;
	for (i = 0; i < d->nr_pages; i++, page_addr += PAGE_SIZE) {
		d->pages[i] = page_at(page_addr);
		if (!d->pages[i])
			goto err_free;
		cond_resched();
	}
	d->id = atomic64_inc_return(&pmdesc_last_id);
	return d;

err_free:
	pmdesc_free(d);
	return ERR_PTR(ret);
}

/**
 * pmdesc_create_kernel() - describe a range of kernel memory
 * @kaddr: first byte: a lowmem (kmalloc, page allocator) or vmalloc address
 * @len: length in bytes, not zero
 * @flags: %PMD_F_DEVICE_READS, %PMD_F_DEVICE_WRITES; %PMD_F_PERSISTENT is
 *         accepted but means nothing: such a descriptor cannot be copied
 *
 * Records the page behind each page of the range, as IOKit's withAddress()
 * does for the kernel task. Nothing is pinned or charged: the caller keeps
 * the memory allocated, and vmalloc memory mapped, for as long as the
 * descriptor lives. pmdesc_copy_persistent() rejects it with -EINVAL.
 *
 * Context: Process context. May sleep.
 * Return: a descriptor holding one reference, or an ERR_PTR(): -EINVAL for
 * bad flags, a zero or overflowing length, or an address that is neither
 * lowmem nor vmalloc; -ENOMEM when out of memory.
 */
struct pmdesc *pmdesc_create_kernel(const void *kaddr, size_t len, u32 flags)
{
	return pmdesc_observe_create(pmdesc_owned_new((unsigned long)kaddr, len,
						  flags, ULONG_MAX,
						  pmdesc_kernel_page),
			      PMDESC_KIND_KERNEL, flags);
}
EXPORT_SYMBOL_GPL(pmdesc_create_kernel);

/**
 * pmdesc_create_phys() - describe a range of physical memory
 * @pa: first byte's physical address
 * @len: length in bytes, not zero
 * @flags: as for pmdesc_create_kernel()
 *
 * Records the page of each page frame of the range, as IOKit's
 * withPhysicalAddress() does. The range must be System RAM in the resource
 * tree, online, with struct pages (not MMIO, not a hole between RAM).
 * Nothing is pinned or charged: the caller keeps the memory allocated for
 * as long as the descriptor lives. pmdesc_copy_persistent() rejects it with
 * -EINVAL.
 *
 * Context: Process context. May sleep.
 * Return: a descriptor holding one reference, or an ERR_PTR(): -EINVAL for
 * bad flags, a zero or overflowing length, or a page frame that is not
 * online System RAM; -ENOMEM when out of memory.
 */
struct pmdesc *pmdesc_create_phys(phys_addr_t pa, size_t len, u32 flags)
{
	struct pmdesc *d = ERR_PTR(-EINVAL);

	if (pmdesc_phys_is_ram(pa, len))
		d = pmdesc_owned_new(pa, len, flags, PHYS_ADDR_MAX,
				     pmdesc_phys_page);
	return pmdesc_observe_create(d, PMDESC_KIND_PHYS, flags);
}
EXPORT_SYMBOL_GPL(pmdesc_create_phys);

/**
 * pmdesc_get() - take a reference on a descriptor
 * @d: the descriptor; the caller already holds a reference
 *
 * Context: Any context.
 * Return: @d.
 */
struct pmdesc *pmdesc_get(struct pmdesc *d)
{
	kref_get(&d->kref);
	return d;
}
EXPORT_SYMBOL_GPL(pmdesc_get);

/**
 * pmdesc_put() - drop a reference on a descriptor
 * @d: the descriptor, or NULL
 *
 * The last reference frees the descriptor. For a user descriptor it first
 * unpins the pages (marking them dirty for %PMD_F_DEVICE_WRITES) and
 * returns the memlock charge, even when the owner has exited.
 *
 * Context: Process context. May sleep.
 */
void pmdesc_put(struct pmdesc *d)
{
	might_sleep();
	if (d)
		kref_put(&d->kref, pmdesc_release);
}
EXPORT_SYMBOL_GPL(pmdesc_put);

/**
 * pmdesc_length() - the number of bytes a descriptor describes
 * @d: the descriptor
 *
 * Context: Any context.
 * Return: the sum of the lengths of its ranges.
 */
size_t pmdesc_length(const struct pmdesc *d)
{
	return d->length;
}
EXPORT_SYMBOL_GPL(pmdesc_length);

/**
 * pmdesc_flags() - the flags a descriptor was created with
 * @d: the descriptor
 *
 * Context: Any context.
 * Return: its PMD_F_* flags.
 */
u32 pmdesc_flags(const struct pmdesc *d)
{
	return d->flags;
}
EXPORT_SYMBOL_GPL(pmdesc_flags);

/**
 * pmdesc_nr_ranges() - the number of ranges a descriptor describes
 * @d: the descriptor
 *
 * Context: Any context.
 * Return: the number of ranges it was created with.
 */
unsigned int pmdesc_nr_ranges(const struct pmdesc *d)
{
	return d->nr_ranges;
}
EXPORT_SYMBOL_GPL(pmdesc_nr_ranges);

/**
 * pmdesc_nr_pages() - the number of pages a descriptor has recorded
 * @d: the descriptor
 *
 * Context: Any context.
 * Return: the number of pages its ranges touch, counted range by range.
 */
unsigned long pmdesc_nr_pages(const struct pmdesc *d)
{
	return d->nr_pages;
}
EXPORT_SYMBOL_GPL(pmdesc_nr_pages);

/**
 * pmdesc_id() - a descriptor's identifier
 * @d: the descriptor
 *
 * Context: Any context.
 * Return: a number unique to @d among all descriptors created while the
 * module is loaded.
 */
u64 pmdesc_id(const struct pmdesc *d)
{
	return d->id;
}
EXPORT_SYMBOL_GPL(pmdesc_id);

/**
 * pmdesc_page() - a page a descriptor has recorded
 * @d: the descriptor
 * @index: 0 to pmdesc_nr_pages() - 1; pages of the ranges in order
 *
 * The page stays valid for as long as the caller holds its reference on @d.
 *
 * Context: Any context.
 * Return: the page, or NULL when @index is out of range.
 */
struct page *pmdesc_page(const struct pmdesc *d, unsigned long index)
{
	return index < d->nr_pages ? d->pages[index] : NULL;
}
EXPORT_SYMBOL_GPL(pmdesc_page);
