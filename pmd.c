// SPDX-License-Identifier: GPL-2.0
/*
 * pmdesc: persistent memory descriptors.
 *
 * The Linux analogue of IOKit's persistent IOMemoryDescriptor and its copy
 * constructor withPersistentMemoryDescriptor(). A descriptor holds long-term
 * pins (FOLL_LONGTERM) on every page that backs its byte ranges and records
 * those pages. Because a recorded page stays pinned, it cannot be freed and
 * reused at the same address, so comparing page identity is an ABA-safe way
 * to tell whether the ranges are still backed by the same memory.
 *
 * Descriptors of kernel memory (lowmem or vmalloc) and of physical memory
 * share the accessors; they pin nothing, charge nothing and cannot be
 * copied: their memory belongs to the caller.
 */
#include <linux/atomic.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/highmem.h>
#include <linux/hmm.h>
#include <linux/ioport.h>
#include <linux/jiffies.h>
#include <linux/kref.h>
#include <linux/memory_hotplug.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/percpu.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/scatterlist.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "pmd.h"
#include "pmd_compat.h"
#include "pmd_internal.h"

#define CREATE_TRACE_POINTS
#include "pmd_trace.h"

/**
 * struct pmdesc - a persistent memory descriptor
 * @kref: references; the last one unpins, uncharges (user descriptors) and
 *        frees
 * @mm: the address space of @ranges; mmgrab()ed, so the struct outlives
 *      the address space. NULL for kernel and physical descriptors
 * @user: the user charged for the pins, NULL while nothing is charged
 * @flags: PMD_F_* flags
 * @nr_ranges: entries in @ranges
 * @ranges: the byte ranges, as given at creation: user or kernel virtual
 *          addresses, or one physical range
 * @length: bytes in all ranges
 * @nr_pages: entries in @pages
 * @id: unique per descriptor while the module is loaded, given once built
 * @pages: the page behind each page of the ranges, range after range;
 *         pinned for user descriptors
 * @notifier: persistent only: watches the span of the ranges
 * @lock: persistent only: the notifier's "user provided lock": taken by
 *        the invalidation callback around mmu_interval_set_seq() and by the
 *        compare around mmu_interval_read_retry() and the store of @seq;
 *        also guards @watch
 * @seq: persistent only: a notifier sequence at which @pages was the
 *       mapping; while the notifier still has it, a copy returns this.
 *       Written under @lock, read locklessly by the copy's fast path
 * @watch: persistent only: pmdesc_watch()'s counter, or NULL
 *
 * Why the copy's fast path needs no lock: @seq is only ever a value that
 * mmu_interval_read_begin() returned before a walk that found every page
 * the same, committed under @lock only if no invalidation had begun since.
 * An invalidation begins by setting the notifier's sequence to a new value
 * (under @lock, before any page table changes), and sequences are never
 * reused, so mmu_interval_check_retry(@seq) is false only while no
 * invalidation has begun since the walk. A fast-path ORIGINAL is thus an
 * answer from before any change, linearized at that lockless check.
 */
struct pmdesc {
	struct kref kref;
	struct mm_struct *mm;
	struct user_struct *user;
	u32 flags;
	unsigned int nr_ranges;
	struct pmd_range *ranges;
	size_t length;
	unsigned long nr_pages;
	u64 id;
	struct page **pages;
	struct mmu_interval_notifier notifier;
	spinlock_t lock; /* notifier sequence commit; @watch */
	unsigned long seq;
	atomic64_t *watch;
};

static atomic64_t pmdesc_last_id = ATOMIC64_INIT(0);

/**
 * struct pmdesc_stats - counters shown in debugfs, pmdesc/stats
 * @live: descriptors created and not yet released
 * @pinned: pages pinned by live user descriptors
 * @copies: pmdesc_copy_persistent() calls by outcome
 * @fast: copies answered by the notifier sequence alone, without a walk
 *
 * Per CPU, so that counting costs the copy fast path no shared cache line;
 * a CPU's share of @live or @pinned may be negative, the sum is not.
 */
struct pmdesc_stats {
	long live;
	long pinned;
	long copies[PMDESC_COPY_NR];
	long fast;
};

static DEFINE_PER_CPU(struct pmdesc_stats, pmdesc_cpu_stats);
static struct dentry *pmdesc_debugfs;

static unsigned long pmdesc_range_pages(const struct pmd_range *r)
{
	return (PAGE_ALIGN(r->addr + r->len) - ALIGN_DOWN(r->addr, PAGE_SIZE)) >>
	       PAGE_SHIFT;
}

/* A range is not empty and ends, page aligned, at or below @limit. */
static int pmdesc_check_range(const struct pmd_range *r, u64 limit)
{
	u64 end;

	if (!r->len || check_add_overflow(r->addr, r->len, &end) ||
	    end > limit || PAGE_ALIGN(end) < end)
		return -EINVAL;
	return 0;
}

/* User descriptors hold an address space; the others describe memory. */
static bool pmdesc_is_user(const struct pmdesc *d)
{
	return d->mm;
}

static bool pmdesc_is_persistent(const struct pmdesc *d)
{
	return pmdesc_is_user(d) && (d->flags & PMD_F_PERSISTENT);
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
	return -EFAULT;
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
 * Pin up to @nr pages from @addr into @pages: with GUP-fast when @fast (the
 * mm is current's), else under the mmap lock, which the caller holds, one
 * VMA at a time where the kernel's GUP needs pmdesc_old_gup_flags().
 * Return: the number of pages pinned, or -errno.
 */
static long pmdesc_pin_some(struct pmdesc *d, unsigned long addr,
			    unsigned long nr, unsigned int gup_flags, bool fast,
			    struct page **pages)
{
	struct vm_area_struct *vma;
	int ret;

	if (fast)
		return pin_user_pages_fast(addr, min_t(unsigned long, nr,
						       INT_MAX),
					   gup_flags, pages);
	if (PMDESC_PIN_NEEDS_VMA) {
		vma = vma_lookup(d->mm, addr);
		if (!vma)
			return -EFAULT;
		ret = pmdesc_old_gup_flags(vma, &gup_flags);
		if (ret)
			return ret;
		nr = min(nr, (vma->vm_end - addr) >> PAGE_SHIFT);
	}
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

/*
 * The invalidation callback of a persistent descriptor's notifier: from now
 * on its recorded view is not known to be current, so the next copy takes
 * the slow path. Also counts the event for pmdesc_watch().
 */
static bool pmdesc_invalidate(struct mmu_interval_notifier *notifier,
			      const struct mmu_notifier_range *range,
			      unsigned long cur_seq)
{
	struct pmdesc *d = container_of(notifier, struct pmdesc, notifier);

	spin_lock(&d->lock);
	mmu_interval_set_seq(notifier, cur_seq);
	if (d->watch)
		atomic64_inc(d->watch);
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
static int pmdesc_watch_ranges(struct pmdesc *d)
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

static void pmdesc_unwatch_ranges(struct pmdesc *d)
{
	if (pmdesc_is_persistent(d))
		mmu_interval_notifier_remove(&d->notifier);
}

static void pmdesc_release(struct kref *kref)
{
	struct pmdesc *d = container_of(kref, struct pmdesc, kref);

	trace_pmdesc_release(d->id, d->nr_pages);
	this_cpu_dec(pmdesc_cpu_stats.live);
	if (pmdesc_is_user(d)) {
		this_cpu_sub(pmdesc_cpu_stats.pinned, d->nr_pages);
		pmdesc_unwatch_ranges(d);
		pmdesc_uncharge(d);
		pmdesc_unpin(d, d->nr_pages, d->flags & PMD_F_DEVICE_WRITES);
	}
	pmdesc_free(d);
}

/* Count and trace the outcome of a create: @d or an ERR_PTR(). */
static struct pmdesc *pmdesc_created(struct pmdesc *d, enum pmdesc_kind kind,
				     u32 flags)
{
	if (IS_ERR(d)) {
		trace_pmdesc_create(0, kind, flags, 0, PTR_ERR(d));
		return d;
	}
	this_cpu_inc(pmdesc_cpu_stats.live);
	if (kind == PMDESC_KIND_USER)
		this_cpu_add(pmdesc_cpu_stats.pinned, d->nr_pages);
	trace_pmdesc_create(d->id, kind, flags, d->nr_pages, 0);
	return d;
}

/* Build a user descriptor: validate, charge @user, watch the ranges, pin. */
static struct pmdesc *pmdesc_build_user(struct mm_struct *mm,
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
	if (!mmget_not_zero(mm)) {
		ret = -ESRCH;
		goto err_uncharge;
	}
	ret = pmdesc_watch_ranges(d);
	if (!ret) {
		ret = pmdesc_pin(d);
		if (ret)
			pmdesc_unwatch_ranges(d);
	}
	mmput(mm);
	if (ret)
		goto err_uncharge;
	d->id = atomic64_inc_return(&pmdesc_last_id);
	return d;

err_uncharge:
	pmdesc_uncharge(d);
err_free:
	pmdesc_free(d);
	return ERR_PTR(ret);
}

static struct pmdesc *pmdesc_create(struct mm_struct *mm,
				    const struct pmd_range *ranges,
				    unsigned int nr_ranges, u32 flags,
				    struct user_struct *user)
{
	return pmdesc_created(pmdesc_build_user(mm, ranges, nr_ranges, flags,
						user),
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
	return pmdesc_create(mm, ranges, nr_ranges, flags, current_user());
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
static struct pmdesc *pmdesc_create_owned(u64 addr, u64 len, u32 flags,
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
	return pmdesc_created(pmdesc_create_owned((unsigned long)kaddr, len,
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
		d = pmdesc_create_owned(pa, len, flags, PHYS_ADDR_MAX,
					pmdesc_phys_page);
	return pmdesc_created(d, PMDESC_KIND_PHYS, flags);
}
EXPORT_SYMBOL_GPL(pmdesc_create_phys);

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
	if (ret)
		return ERR_PTR(ret);
	if (hmm_pfn_to_map_order(p->pfns[0]) < PMD_SHIFT - PAGE_SHIFT)
		return NULL;
	return hmm_pfn_to_page(p->pfns[0]);
}

/*
 * Compare the @n pages at @range->start with @d's recorded pages from
 * @index on: by one probe when a PMD-sized leaf maps them, else by a batch
 * of PFNs. Return: 1 same, 0 different, or -errno.
 */
static int pmdesc_compare_batch(struct pmdesc *d, struct hmm_range *range,
				struct pmdesc_pfns *p, unsigned long index,
				unsigned long n)
{
	unsigned long i;
	int ret;

	ret = pmdesc_fault_pfns(range, p, n);
	if (ret)
		return ret;
	for (i = 0; i < n; i++)
		if (hmm_pfn_to_page(p->pfns[i]) != d->pages[index + i])
			return 0;
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

/*
 * Compare the mapping with @d's recorded pages under notifier sequence @seq,
 * with @d->mm's mmap lock held. Return: 1 same, 0 different, or -errno;
 * -EBUSY when an invalidation raced with the walk.
 */
static int pmdesc_compare_locked(struct pmdesc *d, unsigned long seq,
				 struct pmdesc_pfns *p)
{
	struct hmm_range range = {
		.notifier = &d->notifier,
		.notifier_seq = seq,
		.default_flags = HMM_PFN_REQ_FAULT,
	};
	unsigned long batch = PMDESC_COMPARE_FIRST;
	unsigned long index = 0;
	unsigned int r;
	int ret = 1;

	if (d->flags & PMD_F_DEVICE_WRITES)
		range.default_flags |= HMM_PFN_REQ_WRITE;
	for (r = 0; r < d->nr_ranges && ret == 1; r++) {
		ret = pmdesc_compare_range(d, &range, p, &d->ranges[r], index,
					   &batch);
		index += pmdesc_range_pages(&d->ranges[r]);
	}
	return ret;
}

/*
 * One walk under a fresh notifier sequence. Its verdict, same or
 * different, holds only if no invalidation began during the walk: checked
 * under @d->lock, where a "same" also becomes @d's sequence, so that the
 * next copy takes the fast path. Return: 1 same, 0 different, -EBUSY when
 * an invalidation raced with the walk, or -errno.
 */
static int pmdesc_compare_once(struct pmdesc *d, struct pmdesc_pfns *p)
{
	unsigned long seq = mmu_interval_read_begin(&d->notifier);
	int ret;

	ret = mmap_read_lock_killable(d->mm);
	if (ret)
		return ret;
	ret = pmdesc_compare_locked(d, seq, p);
	mmap_read_unlock(d->mm);
	if (ret < 0)
		return ret;
	spin_lock(&d->lock);
	if (mmu_interval_read_retry(&d->notifier, seq))
		ret = -EBUSY;
	else if (ret)
		WRITE_ONCE(d->seq, seq);
	spin_unlock(&d->lock);
	return ret;
}

/*
 * Is every page of @d's ranges still the page it recorded? A walk of the
 * page tables with hmm_range_fault(), faulting where pinning would but taking
 * no page reference, retried while invalidations race with it, for at most
 * HMM_RANGE_DEFAULT_TIMEOUT, as in-tree HMM users bound theirs. The caller
 * holds a user reference on @d->mm.
 * Return: 1 same, 0 different, or -errno: -EBUSY when invalidations kept
 * racing with the walk until the timeout, -EINTR when killed.
 */
static int pmdesc_compare(struct pmdesc *d)
{
	unsigned long timeout = jiffies +
				msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	struct pmdesc_pfns pfns;
	int ret;

	pmdesc_pfns_init(&pfns);
	for (;;) {
		ret = pmdesc_compare_once(d, &pfns);
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
	ret = pmdesc_compare(orig);
	mmput(orig->mm);
	if (ret < 0)
		return ERR_PTR(ret);
	if (ret)
		return pmdesc_get(orig);
	return pmdesc_create(orig->mm, orig->ranges, orig->nr_ranges,
			     orig->flags, orig->user);
}

/* Count and trace the outcome of a copy of @orig (which may be NULL). */
static void pmdesc_copied(const struct pmdesc *orig, const struct pmdesc *copy,
			  bool fast)
{
	enum pmdesc_copy_outcome outcome;

	if (IS_ERR(copy))
		outcome = PMDESC_COPY_ERROR;
	else if (copy == orig)
		outcome = PMDESC_COPY_ORIGINAL;
	else
		outcome = PMDESC_COPY_FRESH;
	this_cpu_inc(pmdesc_cpu_stats.copies[outcome]);
	if (fast)
		this_cpu_inc(pmdesc_cpu_stats.fast);
	trace_pmdesc_copy(orig ? orig->id : 0, outcome, fast,
			  IS_ERR(copy) ? 0 : copy->id, PTR_ERR_OR_ZERO(copy));
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
	struct pmdesc *copy;
	bool fast = false;

	if (!orig || !pmdesc_is_persistent(orig)) {
		copy = ERR_PTR(-EINVAL);
	} else if (pmdesc_view_is_current(orig)) {
		fast = true;
		copy = pmdesc_get(orig);
	} else {
		copy = pmdesc_copy_slow(orig);
	}
	pmdesc_copied(orig, copy, fast);
	return copy;
}
EXPORT_SYMBOL_GPL(pmdesc_copy_persistent);

/**
 * pmdesc_watch() - count the events that may change a descriptor's backing
 * @d: a user descriptor created with %PMD_F_PERSISTENT
 * @counter: incremented on every invalidation of @d's ranges from now on;
 *           NULL to stop. Must stay valid until @d is released or the
 *           counter is replaced: once pmdesc_watch() returned, no
 *           invalidation touches the counter it replaced, which the caller
 *           may then free.
 *
 * Lets a cache tell with one load that a copy would still return @d: sample
 * @counter, then call pmdesc_copy_persistent(); while @counter still holds
 * the sample, a copy would return @d again. A moved counter may be
 * spurious (a copy then returns @d through the slow path); an unmoved one
 * never hides a change.
 *
 * Context: Any context but an invalidation callback of @d's address space;
 * takes and releases a spinlock that those callbacks take.
 * Return: 0, or -EINVAL when @d is not a persistent user descriptor.
 */
int pmdesc_watch(struct pmdesc *d, atomic64_t *counter)
{
	if (!pmdesc_is_persistent(d))
		return -EINVAL;
	/* Waits for an invalidation callback that may hold the old one. */
	spin_lock(&d->lock);
	d->watch = counter;
	spin_unlock(&d->lock);
	return 0;
}
EXPORT_SYMBOL_GPL(pmdesc_watch);

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

/**
 * struct pmdesc_cursor - a position in a descriptor's bytes
 * @r: the range the position is in
 * @first: the index in the page array of @r's first page
 * @offset: the byte offset within @r
 * @left: bytes from the position to the end of the descriptor
 */
struct pmdesc_cursor {
	const struct pmd_range *r;
	unsigned long first;
	u64 offset;
	size_t left;
};

/* Put @c at byte @offset of @d, which must be below pmdesc_length(@d). */
static void pmdesc_cursor_seek(const struct pmdesc *d,
			       struct pmdesc_cursor *c, size_t offset)
{
	c->r = d->ranges;
	c->first = 0;
	c->left = d->length - offset;
	while (offset >= c->r->len) {
		offset -= c->r->len;
		c->first += pmdesc_range_pages(c->r);
		c->r++;
	}
	c->offset = offset;
}

/*
 * The bytes at @c that lie within one page, at most @max of them: return
 * their page, their offset in it in *@page_offset and their count in *@len;
 * move @c past them. @c must not be at the end.
 */
static struct page *pmdesc_cursor_next(const struct pmdesc *d,
				       struct pmdesc_cursor *c, size_t max,
				       size_t *page_offset, size_t *len)
{
	u64 va = c->r->addr + c->offset;
	struct page *page;

	page = d->pages[c->first + (va >> PAGE_SHIFT) -
			(c->r->addr >> PAGE_SHIFT)];
	*page_offset = offset_in_page(va);
	*len = min3(max, PAGE_SIZE - *page_offset,
		    (size_t)(c->r->len - c->offset));
	c->offset += *len;
	c->left -= *len;
	if (c->offset == c->r->len && c->left) {
		c->first += pmdesc_range_pages(c->r);
		c->offset = 0;
		c->r++;
	}
	return page;
}

/*
 * The physically contiguous bytes at @c, at most @max of them, whose pages
 * are also consecutive struct pages (as a scatterlist entry needs): return
 * the page of their first byte, its offset in *@page_offset and their count
 * in *@len; move @c past them. @c must not be at the end.
 */
static struct page *pmdesc_cursor_next_run(const struct pmdesc *d,
					   struct pmdesc_cursor *c, size_t max,
					   size_t *page_offset, size_t *len)
{
	struct page *first, *page;
	struct pmdesc_cursor next;
	size_t offset, n;
	phys_addr_t end;

	first = pmdesc_cursor_next(d, c, max, page_offset, len);
	end = page_to_phys(first) + *page_offset + *len;
	while (c->left && *len < max) {
		next = *c;
		page = pmdesc_cursor_next(d, &next, max - *len, &offset, &n);
		if (page_to_phys(page) + offset != end ||
		    page != first + ((*page_offset + *len) >> PAGE_SHIFT))
			break;
		*c = next;
		*len += n;
		end += n;
	}
	return first;
}

typedef void (*pmdesc_chunk_fn)(struct page *page, size_t page_offset,
				size_t len, size_t done, void *priv);

/*
 * Call @fn on each piece of bytes [@offset, @offset + @len) of @d that lies
 * within one page, in order; @done is the bytes handled before the piece.
 */
static int pmdesc_walk_bytes(const struct pmdesc *d, size_t offset,
			     size_t len, pmdesc_chunk_fn fn, void *priv)
{
	struct pmdesc_cursor c;
	size_t done, page_offset, n;
	struct page *page;

	if (offset > d->length || len > d->length - offset)
		return -EINVAL;
	if (!len)
		return 0;
	pmdesc_cursor_seek(d, &c, offset);
	for (done = 0; done < len; done += n) {
		page = pmdesc_cursor_next(d, &c, len - done, &page_offset, &n);
		fn(page, page_offset, n, done, priv);
	}
	return 0;
}

static void pmdesc_chunk_to_buf(struct page *page, size_t page_offset,
				size_t len, size_t done, void *buf)
{
	memcpy_from_page((char *)buf + done, page, page_offset, len);
}

static void pmdesc_chunk_from_buf(struct page *page, size_t page_offset,
				  size_t len, size_t done, void *buf)
{
	memcpy_to_page(page, page_offset, (const char *)buf + done, len);
}

/**
 * pmdesc_read_bytes() - copy bytes out of a descriptor's recorded pages
 * @d: the descriptor
 * @offset: byte offset into the descriptor (its ranges end to end)
 * @buf: kernel buffer of at least @len bytes
 * @len: bytes to copy
 *
 * Reads the recorded pages, not whatever the ranges map now.
 *
 * Context: Any context that may use kmap_local_page().
 * Return: 0, or -EINVAL when the bytes lie outside the descriptor.
 */
int pmdesc_read_bytes(const struct pmdesc *d, size_t offset, void *buf,
		      size_t len)
{
	return pmdesc_walk_bytes(d, offset, len, pmdesc_chunk_to_buf, buf);
}
EXPORT_SYMBOL_GPL(pmdesc_read_bytes);

/**
 * pmdesc_write_bytes() - copy bytes into a descriptor's recorded pages
 * @d: the descriptor; must have %PMD_F_DEVICE_WRITES
 * @offset: byte offset into the descriptor (its ranges end to end)
 * @buf: kernel buffer of at least @len bytes
 * @len: bytes to copy
 *
 * Writes the recorded pages, not whatever the ranges map now. Pages of a
 * read-only pin are never written: that would be the Dirty-COW class of bug.
 *
 * Context: Any context that may use kmap_local_page().
 * Return: 0; -EPERM when @d lacks %PMD_F_DEVICE_WRITES; -EINVAL when the
 * bytes lie outside the descriptor.
 */
int pmdesc_write_bytes(const struct pmdesc *d, size_t offset, const void *buf,
		       size_t len)
{
	if (!(d->flags & PMD_F_DEVICE_WRITES))
		return -EPERM;
	return pmdesc_walk_bytes(d, offset, len, pmdesc_chunk_from_buf,
				     (void *)buf);
}
EXPORT_SYMBOL_GPL(pmdesc_write_bytes);

/**
 * pmdesc_phys_segment() - a physically contiguous run of a descriptor
 * @d: the descriptor
 * @offset: byte offset into the descriptor (its ranges end to end)
 * @len: out: the length of the run, 0 when @offset is not in @d
 *
 * Like IOKit's getPhysicalSegment(): the run starts at @offset and goes on
 * for as long as the recorded pages are physically contiguous (and
 * consecutive struct pages), across page and range boundaries. For a user
 * descriptor this is the memory it pinned, not whatever the ranges map now.
 *
 * Context: Any context.
 * Return: the physical address of byte @offset, with its run's length in
 * *@len; when @offset is not in @d, 0 with *@len 0 (test *@len: physical
 * address 0 may be memory).
 */
phys_addr_t pmdesc_phys_segment(const struct pmdesc *d, size_t offset,
				size_t *len)
{
	struct pmdesc_cursor c;
	size_t page_offset;
	struct page *page;

	*len = 0;
	if (offset >= d->length)
		return 0;
	pmdesc_cursor_seek(d, &c, offset);
	page = pmdesc_cursor_next_run(d, &c, SIZE_MAX, &page_offset, len);
	return page_to_phys(page) + page_offset;
}
EXPORT_SYMBOL_GPL(pmdesc_phys_segment);

/* Physically contiguous runs of @d of at most @max_segment bytes. */
static unsigned int pmdesc_count_runs(const struct pmdesc *d,
				      size_t max_segment)
{
	struct pmdesc_cursor c;
	size_t offset, len;
	unsigned int n = 0;

	for (pmdesc_cursor_seek(d, &c, 0); c.left; n++)
		pmdesc_cursor_next_run(d, &c, max_segment, &offset, &len);
	return n;
}

/**
 * pmdesc_sg_table() - a scatterlist of a descriptor's memory, for DMA
 * @d: the descriptor
 * @sgt: the table to fill; the caller frees it with sg_free_table()
 * @max_segment: the largest segment the device takes, e.g.
 *               dma_get_max_seg_size(); at least PAGE_SIZE, rounded down
 *               to a multiple of it
 * @gfp: how to allocate the table
 *
 * One entry per run of pmdesc_phys_segment(), split where a run exceeds
 * @max_segment: a range over a transparent huge page, aligned to it, gives
 * entries of its size when @max_segment allows. Ready for
 * dma_map_sgtable() on a device without a segment boundary mask; the pages
 * stay valid for as long as the caller holds its reference on @d.
 *
 * Context: Any context that may allocate with @gfp.
 * Return: 0; -EINVAL when @max_segment is below PAGE_SIZE; -ENOMEM when
 * out of memory.
 */
int pmdesc_sg_table(const struct pmdesc *d, struct sg_table *sgt,
		    unsigned int max_segment, gfp_t gfp)
{
	struct pmdesc_cursor c;
	struct scatterlist *sg;
	size_t offset, len;
	struct page *page;
	unsigned int i;
	int ret;

	if (max_segment < PAGE_SIZE)
		return -EINVAL;
	max_segment = ALIGN_DOWN(max_segment, PAGE_SIZE);
	ret = sg_alloc_table(sgt, pmdesc_count_runs(d, max_segment), gfp);
	if (ret)
		return ret;
	pmdesc_cursor_seek(d, &c, 0);
	for_each_sgtable_sg(sgt, sg, i) {
		page = pmdesc_cursor_next_run(d, &c, max_segment, &offset, &len);
		sg_set_page(sg, page, len, offset);
	}
	return 0;
}
EXPORT_SYMBOL_GPL(pmdesc_sg_table);

static void pmdesc_stats_sum(struct pmdesc_stats *sum)
{
	const struct pmdesc_stats *cpu_stats;
	int cpu, i;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		cpu_stats = per_cpu_ptr(&pmdesc_cpu_stats, cpu);
		sum->live += cpu_stats->live;
		sum->pinned += cpu_stats->pinned;
		for (i = 0; i < PMDESC_COPY_NR; i++)
			sum->copies[i] += cpu_stats->copies[i];
		sum->fast += cpu_stats->fast;
	}
}

static int pmdesc_stats_show(struct seq_file *m, void *unused)
{
	struct pmdesc_stats st;

	pmdesc_stats_sum(&st);
	seq_printf(m, "descriptors_live %ld\n", st.live);
	seq_printf(m, "pages_pinned %ld\n", st.pinned);
	seq_printf(m, "copies_original %ld\n",
		   st.copies[PMDESC_COPY_ORIGINAL]);
	seq_printf(m, "copies_fresh %ld\n", st.copies[PMDESC_COPY_FRESH]);
	seq_printf(m, "copies_error %ld\n", st.copies[PMDESC_COPY_ERROR]);
	seq_printf(m, "copies_fast %ld\n", st.fast);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pmdesc_stats);

static int __init pmdesc_init(void)
{
	int ret;

	pmdesc_debugfs = debugfs_create_dir("pmdesc", NULL);
	debugfs_create_file("stats", 0444, pmdesc_debugfs, NULL,
			    &pmdesc_stats_fops);
	ret = pmd_dev_register();
	if (ret)
		debugfs_remove_recursive(pmdesc_debugfs);
	return ret;
}
module_init(pmdesc_init);

static void __exit pmdesc_exit(void)
{
	pmd_dev_unregister();
	debugfs_remove_recursive(pmdesc_debugfs);
}
module_exit(pmdesc_exit);

MODULE_DESCRIPTION("Persistent memory descriptors: pinned user memory, kernel and physical memory");
MODULE_LICENSE("GPL");
