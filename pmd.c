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
 */
#include <linux/atomic.h>
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/err.h>
#include <linux/highmem.h>
#include <linux/kref.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "pmd.h"

/**
 * struct pmdesc - a persistent memory descriptor
 * @kref: references; the last one unpins, uncharges and frees
 * @mm: the address space of @ranges; mmgrab()ed, so the struct outlives
 *      the address space
 * @user: the user charged for the pins, NULL while nothing is charged
 * @flags: PMD_F_* flags
 * @nr_ranges: entries in @ranges
 * @ranges: the byte ranges, as given at creation
 * @length: bytes in all ranges
 * @nr_pages: entries in @pages
 * @id: unique per descriptor while the module is loaded, given once built
 * @pages: the pinned page behind each page of the ranges, range after range
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
};

static atomic64_t pmdesc_last_id = ATOMIC64_INIT(0);

static unsigned long pmdesc_range_pages(const struct pmd_range *r)
{
	return (PAGE_ALIGN(r->addr + r->len) - (r->addr & PAGE_MASK)) >>
	       PAGE_SHIFT;
}

static int pmdesc_check_range(const struct mm_struct *mm,
			      const struct pmd_range *r)
{
	u64 end;

	if (!r->len || check_add_overflow(r->addr, r->len, &end) ||
	    end > mm->task_size)
		return -EINVAL;
	return 0;
}

static void pmdesc_free(struct pmdesc *d)
{
	kvfree(d->pages);
	kfree(d->ranges);
	mmdrop(d->mm);
	kfree(d);
}

/*
 * Allocate a descriptor over validated ranges: nothing pinned, nothing
 * charged yet.
 */
static struct pmdesc *pmdesc_alloc(struct mm_struct *mm,
				   const struct pmd_range *ranges,
				   unsigned int nr_ranges, u32 flags)
{
	unsigned long nr_pages = 0;
	size_t length = 0;
	struct pmdesc *d;
	unsigned int i;
	int ret;

	if (!mm || !ranges || !nr_ranges || nr_ranges > PMD_MAX_RANGES ||
	    (flags & ~PMD_F_ALL))
		return ERR_PTR(-EINVAL);
	for (i = 0; i < nr_ranges; i++) {
		ret = pmdesc_check_range(mm, &ranges[i]);
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
	d->pages = kvmalloc_array(nr_pages, sizeof(*d->pages),
				  GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!d->ranges || !d->pages) {
		kvfree(d->pages);
		kfree(d->ranges);
		kfree(d);
		return ERR_PTR(-ENOMEM);
	}

	kref_init(&d->kref);
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

static long pmdesc_pin_user_pages(struct mm_struct *mm, unsigned long addr,
				  unsigned long nr_pages,
				  unsigned int gup_flags, struct page **pages)
{
#ifdef PMDESC_PIN_REMOTE_HAS_VMAS
	return pin_user_pages_remote(mm, addr, nr_pages, gup_flags, pages,
				     NULL, NULL);
#else
	return pin_user_pages_remote(mm, addr, nr_pages, gup_flags, pages,
				     NULL);
#endif
}

/* Pin the pages of @r into @d->pages from index *@done on; advance *@done. */
static int pmdesc_pin_range(struct pmdesc *d, const struct pmd_range *r,
			    unsigned int gup_flags, unsigned long *done)
{
	unsigned long addr = r->addr & PAGE_MASK;
	unsigned long left = pmdesc_range_pages(r);
	long ret;

	while (left) {
		ret = pmdesc_pin_user_pages(d->mm, addr, left, gup_flags,
					    d->pages + *done);
		if (ret <= 0)
			return ret ? ret : -EFAULT;
		*done += ret;
		left -= ret;
		addr += ret << PAGE_SHIFT;
	}
	return 0;
}

/*
 * Pin and record every page of every range, all under one mmap read lock so
 * that the view is a snapshot of one moment. Pins all pages or none.
 */
static int pmdesc_pin(struct pmdesc *d)
{
	unsigned int gup_flags = FOLL_LONGTERM;
	unsigned long done = 0;
	unsigned int i;
	int ret;

	if (d->flags & PMD_F_DEVICE_WRITES)
		gup_flags |= FOLL_WRITE;
	if (!mmget_not_zero(d->mm))
		return -ESRCH;
	ret = mmap_read_lock_killable(d->mm);
	if (ret)
		goto out_mmput;
	for (i = 0; i < d->nr_ranges && !ret; i++)
		ret = pmdesc_pin_range(d, &d->ranges[i], gup_flags, &done);
	mmap_read_unlock(d->mm);
	if (ret)
		unpin_user_pages(d->pages, done);
out_mmput:
	mmput(d->mm);
	return ret;
}

static void pmdesc_release(struct kref *kref)
{
	struct pmdesc *d = container_of(kref, struct pmdesc, kref);

	pmdesc_uncharge(d);
	unpin_user_pages_dirty_lock(d->pages, d->nr_pages,
				    d->flags & PMD_F_DEVICE_WRITES);
	pmdesc_free(d);
}

/**
 * pmdesc_create_user() - describe and pin byte ranges of an address space
 * @mm: the address space; the caller holds a reference on it
 * @ranges: the byte ranges; need not be page aligned; copied
 * @nr_ranges: entries in @ranges, 1 to %PMD_MAX_RANGES
 * @flags: %PMD_F_PERSISTENT, %PMD_F_DEVICE_READS, %PMD_F_DEVICE_WRITES
 *
 * Pins every page that the bytes of the ranges touch with FOLL_LONGTERM
 * (and FOLL_WRITE for %PMD_F_DEVICE_WRITES) and records them. The pins are
 * charged to the calling task's user and to @mm against the caller's
 * RLIMIT_MEMLOCK, unless the caller has CAP_IPC_LOCK.
 *
 * Context: Process context; takes @mm's mmap lock for reading. May sleep.
 * Return: a descriptor holding one reference, or an ERR_PTR():
 * -EINVAL for bad flags, ranges or counts; -EFAULT when a page cannot be
 * pinned; -ENOMEM when out of memory or over RLIMIT_MEMLOCK; -ESRCH when
 * @mm has no users left; -EINTR when killed while waiting for the mmap lock.
 */
struct pmdesc *pmdesc_create_user(struct mm_struct *mm,
				  const struct pmd_range *ranges,
				  unsigned int nr_ranges, u32 flags)
{
	struct pmdesc *d;
	int ret;

	d = pmdesc_alloc(mm, ranges, nr_ranges, flags);
	if (IS_ERR(d))
		return d;
	ret = pmdesc_charge(d, current_user());
	if (ret)
		goto err_free;
	ret = pmdesc_pin(d);
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
EXPORT_SYMBOL_GPL(pmdesc_create_user);

static bool pmdesc_same_pages(const struct pmdesc *a, const struct pmdesc *b)
{
	return a->nr_pages == b->nr_pages &&
	       !memcmp(a->pages, b->pages, a->nr_pages * sizeof(*a->pages));
}

/**
 * pmdesc_copy_persistent() - the copy constructor of persistent descriptors
 * @orig: a descriptor created with %PMD_F_PERSISTENT; the caller holds a
 *        reference on it
 *
 * Re-walks @orig's ranges in @orig's address space (not current's). If every
 * page is still the page recorded in @orig, returns @orig with one more
 * reference. Otherwise returns a new descriptor with the same address space,
 * ranges and flags over the pages that back the ranges now, charged to
 * @orig's user. @orig itself is never modified: it keeps its pinned pages.
 *
 * Context: Process context; takes the mmap lock of @orig's address space
 * for reading. May sleep.
 * Return: @orig or a new descriptor, each with one reference for the caller,
 * or an ERR_PTR(): -EINVAL for a bad original (NULL or not persistent);
 * -EFAULT when a page can no longer be pinned (e.g. unmapped); -ENOMEM when
 * out of memory or over RLIMIT_MEMLOCK; -ESRCH when the address space is
 * gone; -EINTR when killed while waiting for the mmap lock.
 */
struct pmdesc *pmdesc_copy_persistent(struct pmdesc *orig)
{
	struct pmdesc *d;
	int ret;

	if (!orig || !(orig->flags & PMD_F_PERSISTENT))
		return ERR_PTR(-EINVAL);

	d = pmdesc_alloc(orig->mm, orig->ranges, orig->nr_ranges, orig->flags);
	if (IS_ERR(d))
		return d;
	ret = pmdesc_pin(d);
	if (ret)
		goto err_free;
	if (pmdesc_same_pages(d, orig)) {
		unpin_user_pages(d->pages, d->nr_pages);
		pmdesc_free(d);
		return pmdesc_get(orig);
	}
	ret = pmdesc_charge(d, orig->user);
	if (ret)
		goto err_unpin;
	d->id = atomic64_inc_return(&pmdesc_last_id);
	return d;

err_unpin:
	unpin_user_pages(d->pages, d->nr_pages);
err_free:
	pmdesc_free(d);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_GPL(pmdesc_copy_persistent);

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
 * The last reference unpins the pages (marking them dirty for
 * %PMD_F_DEVICE_WRITES), returns the memlock charge, even when the owner
 * has exited, and frees the descriptor.
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
 * pmdesc_nr_pages() - the number of pages a descriptor has pinned
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
 * pmdesc_page() - a page a descriptor has pinned
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

typedef void (*pmdesc_chunk_fn)(struct page *page, size_t page_offset,
				size_t len, size_t done, void *priv);

/*
 * Call @fn on each piece of bytes [@offset, @offset + @len) of @d that lies
 * within one page, in order; @done is the bytes handled before the piece.
 */
static int pmdesc_walk_bytes(const struct pmdesc *d, size_t offset,
			     size_t len, pmdesc_chunk_fn fn, void *priv)
{
	const struct pmd_range *r = d->ranges;
	unsigned long first = 0;
	size_t done = 0;

	if (offset > d->length || len > d->length - offset)
		return -EINVAL;
	if (!len)
		return 0;
	while (offset >= r->len) {
		offset -= r->len;
		first += pmdesc_range_pages(r);
		r++;
	}
	while (done < len) {
		u64 va = r->addr + offset;
		unsigned long index = first + (va >> PAGE_SHIFT) -
				      (r->addr >> PAGE_SHIFT);
		size_t n = min3(len - done, PAGE_SIZE - offset_in_page(va),
				(size_t)(r->len - offset));

		fn(d->pages[index], offset_in_page(va), n, done, priv);
		done += n;
		offset += n;
		if (offset == r->len && done < len) {
			first += pmdesc_range_pages(r);
			offset = 0;
			r++;
		}
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
 * pmdesc_read_bytes() - copy bytes out of a descriptor's pinned pages
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
 * pmdesc_write_bytes() - copy bytes into a descriptor's pinned pages
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

MODULE_DESCRIPTION("Persistent memory descriptors over pinned user memory");
MODULE_LICENSE("GPL");
