// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers of the pmdesc KUnit suites, over real user memory mapped into a
 * KUnit-owned address space with kunit_vm_mmap().
 *
 * Every case ends with a check, run after all of its other cleanups, that
 * the system holds exactly as many FOLL_PIN pins and as much locked memory
 * as before it started.
 */
#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/cred.h>
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/limits.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmstat.h>

#include "pmd_kunit_util.h"

struct pmdesc_test_baseline {
	struct kunit *test;
	long pins;
	long locked_vm;
};

KUNIT_DEFINE_ACTION_WRAPPER(pmdesc_test_put_action, pmdesc_put,
			    struct pmdesc *);

/* A node statistic, exact: the global counter plus every unfolded diff. */
static long pmdesc_test_node_stat(enum node_stat_item item)
{
	long val = global_node_page_state(item);
	int nid, cpu;

	for_each_online_node(nid)
		for_each_possible_cpu(cpu)
			val += per_cpu_ptr(NODE_DATA(nid)->per_cpu_nodestats,
					   cpu)->vm_node_stat_diff[item];
	return val;
}

/**
 * pmdesc_test_pins_held() - The FOLL_PIN pins the system holds, exactly.
 *
 * Return: pins acquired minus pins released, over every node and CPU.
 */
long pmdesc_test_pins_held(void)
{
	return pmdesc_test_node_stat(NR_FOLL_PIN_ACQUIRED) -
	       pmdesc_test_node_stat(NR_FOLL_PIN_RELEASED);
}

/**
 * pmdesc_test_locked_vm() - The locked memory charged to the current user.
 *
 * Return: the user's ``locked_vm``, in pages.
 */
long pmdesc_test_locked_vm(void)
{
	return atomic_long_read(&current_user()->locked_vm);
}

static void pmdesc_test_expect_nothing_held(void *data)
{
	struct pmdesc_test_baseline *base = data;
	struct kunit *test = base->test;

	KUNIT_EXPECT_EQ_MSG(test, pmdesc_test_pins_held(), base->pins,
			    "pages left pinned");
	KUNIT_EXPECT_EQ_MSG(test, pmdesc_test_locked_vm(), base->locked_vm,
			    "locked memory left charged");
}

/**
 * pmdesc_test_init() - The init of every pmdesc suite.
 * @test: the case about to run.
 *
 * Records the pins and the locked memory held now, and has the case end
 * with a check that they are held again, after all its other cleanups.
 *
 * Return: 0, or -ENOMEM.
 */
int pmdesc_test_init(struct kunit *test)
{
	struct pmdesc_test_baseline *base;

	base = kunit_kzalloc(test, sizeof(*base), GFP_KERNEL);
	if (!base)
		return -ENOMEM;
	base->test = test;
	base->pins = pmdesc_test_pins_held();
	base->locked_vm = pmdesc_test_locked_vm();
	/* Registered first, so it runs after every other cleanup. */
	return kunit_add_action_or_reset(test, pmdesc_test_expect_nothing_held,
					 base);
}

/**
 * pmdesc_test_map_user() - vm_mmap() into the case's address space.
 * @test: the case, which fails if the mapping does.
 * @file: the file to map, or NULL.
 * @addr: the address wanted, or 0.
 * @len: bytes to map.
 * @prot: PROT_* of the mapping.
 * @flags: MAP_* of the mapping.
 *
 * Return: the user address of the mapping.
 */
unsigned long pmdesc_test_map_user(struct kunit *test, struct file *file,
				   unsigned long addr, size_t len,
				   unsigned long prot, unsigned long flags)
{
	unsigned long uaddr;

	uaddr = kunit_vm_mmap(test, file, addr, len, prot, flags, 0);
	KUNIT_ASSERT_FALSE_MSG(test, !uaddr || IS_ERR_VALUE(uaddr),
			       "vm_mmap of %zu bytes failed", len);
	return uaddr;
}

/**
 * pmdesc_test_fill_user() - Write a pattern into user memory.
 * @test: the case, which fails if a byte cannot be written.
 * @uaddr: the first byte.
 * @len: how many bytes.
 * @seed: what the pattern depends on, besides the position.
 */
void pmdesc_test_fill_user(struct kunit *test, unsigned long uaddr, size_t len,
			   u8 seed)
{
	u8 *buf = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);
	size_t done, i, n;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	for (done = 0; done < len; done += n) {
		n = min(len - done, PAGE_SIZE);
		for (i = 0; i < n; i++)
			buf[i] = seed + (done + i) * 7;
		KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)uaddr + done,
						   buf, n), 0);
	}
	kunit_kfree(test, buf);
}

/**
 * pmdesc_test_map_anon() - Map anonymous private memory, every page written.
 * @test: the case.
 * @npages: pages to map.
 *
 * Return: the user address of the mapping.
 */
unsigned long pmdesc_test_map_anon(struct kunit *test, unsigned long npages)
{
	unsigned long uaddr = pmdesc_test_map_user(test, NULL, 0,
						   npages * PAGE_SIZE,
						   PROT_READ | PROT_WRITE,
						   MAP_ANONYMOUS | MAP_PRIVATE);

	pmdesc_test_fill_user(test, uaddr, npages * PAGE_SIZE, 1);
	return uaddr;
}

/**
 * pmdesc_test_zap_page() - madvise(MADV_DONTNEED) of one page, as the
 *	syscall does it.
 * @test: the case, which fails if nothing is mapped at @uaddr.
 * @uaddr: the page.
 */
void pmdesc_test_zap_page(struct kunit *test, unsigned long uaddr)
{
	struct vm_area_struct *vma;

	mmap_read_lock(current->mm);
	vma = vma_lookup(current->mm, uaddr);
	if (vma)
		zap_page_range_single(vma, uaddr, PAGE_SIZE, NULL);
	mmap_read_unlock(current->mm);
	KUNIT_ASSERT_NOT_NULL(test, vma);
}

/**
 * pmdesc_test_hold() - Assert that @d is a descriptor; put it when the case
 *	ends.
 * @test: the case.
 * @d: what a create or a copy returned.
 *
 * Return: @d.
 */
struct pmdesc *pmdesc_test_hold(struct kunit *test, struct pmdesc *d)
{
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, d);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							pmdesc_test_put_action,
							d), 0);
	return d;
}

/**
 * pmdesc_test_put() - Put a descriptor of pmdesc_test_hold() now.
 * @test: the case.
 * @d: the descriptor, no longer put when the case ends.
 */
void pmdesc_test_put(struct kunit *test, struct pmdesc *d)
{
	kunit_release_action(test, pmdesc_test_put_action, d);
}

/**
 * pmdesc_test_create_ranges() - pmdesc_create_user() of the current mm, held.
 * @test: the case, which fails if the create does.
 * @ranges: the ranges.
 * @nr_ranges: how many.
 * @flags: PMD_F_*.
 *
 * Return: the descriptor, put when the case ends.
 */
struct pmdesc *pmdesc_test_create_ranges(struct kunit *test,
					 const struct pmd_range *ranges,
					 unsigned int nr_ranges, u32 flags)
{
	return pmdesc_test_hold(test, pmdesc_create_user(current->mm, ranges,
							 nr_ranges, flags));
}

/**
 * pmdesc_test_create_one() - pmdesc_test_create_ranges() of one range.
 * @test: the case.
 * @uaddr: the range's first byte.
 * @len: its length.
 * @flags: PMD_F_*.
 *
 * Return: the descriptor, put when the case ends.
 */
struct pmdesc *pmdesc_test_create_one(struct kunit *test, unsigned long uaddr,
				      size_t len, u32 flags)
{
	struct pmd_range r = { .addr = uaddr, .len = len };

	return pmdesc_test_create_ranges(test, &r, 1, flags);
}

/**
 * pmdesc_test_expect_user_bytes() - Expect a descriptor's bytes to equal
 *	user memory.
 * @test: the case.
 * @d: the descriptor.
 * @offset: the first byte of @d to compare.
 * @uaddr: the user address it must equal.
 * @len: how many bytes.
 */
void pmdesc_test_expect_user_bytes(struct kunit *test, const struct pmdesc *d,
				   size_t offset, unsigned long uaddr,
				   size_t len)
{
	u8 *want = kunit_kmalloc(test, len, GFP_KERNEL);
	u8 *got = kunit_kmalloc(test, len, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, want);
	KUNIT_ASSERT_NOT_NULL(test, got);
	KUNIT_ASSERT_EQ(test, copy_from_user(want, (void __user *)uaddr, len),
			0);
	KUNIT_ASSERT_EQ(test, pmdesc_read_bytes(d, offset, got, len), 0);
	KUNIT_EXPECT_MEMEQ(test, got, want, len);
	kunit_kfree(test, want);
	kunit_kfree(test, got);
}

/**
 * pmdesc_test_limit_memlock() - Run without CAP_IPC_LOCK, under a
 *	RLIMIT_MEMLOCK.
 * @test: the case.
 * @lim: where to keep what is replaced.
 * @pages: the limit.
 *
 * Until pmdesc_test_unlimit_memlock(); both must run in the case's own task.
 */
void pmdesc_test_limit_memlock(struct kunit *test,
			       struct pmdesc_test_memlock *lim,
			       unsigned long pages)
{
	struct rlimit *rlim = &current->signal->rlim[RLIMIT_MEMLOCK];
	struct cred *new = prepare_creds();

	KUNIT_ASSERT_NOT_NULL(test, new);
	cap_lower(new->cap_effective, CAP_IPC_LOCK);
	lim->old_cred = override_creds(new);
	put_cred(new);
	lim->saved = *rlim;
	rlim->rlim_cur = pages << PAGE_SHIFT;
}

/**
 * pmdesc_test_unlimit_memlock() - Undo pmdesc_test_limit_memlock().
 * @lim: what it replaced.
 */
void pmdesc_test_unlimit_memlock(struct pmdesc_test_memlock *lim)
{
	current->signal->rlim[RLIMIT_MEMLOCK] = lim->saved;
	revert_creds(lim->old_cred);
}

/**
 * pmdesc_test_create_limited() - pmdesc_create_user() of one range, under
 *	a RLIMIT_MEMLOCK.
 * @test: the case.
 * @mm: the address space of @r.
 * @r: the range, created PMDESC_RW.
 * @limit_pages: the limit.
 *
 * Return: what pmdesc_create_user() returned; not held.
 */
struct pmdesc *pmdesc_test_create_limited(struct kunit *test,
					  struct mm_struct *mm,
					  const struct pmd_range *r,
					  unsigned long limit_pages)
{
	struct pmdesc_test_memlock lim;
	struct pmdesc *d;

	pmdesc_test_limit_memlock(test, &lim, limit_pages);
	d = pmdesc_create_user(mm, r, 1, PMDESC_RW);
	pmdesc_test_unlimit_memlock(&lim);
	return d;
}

/**
 * pmdesc_test_fill_kernel() - Fill kernel bytes with the pattern of
 *	pmdesc_test_fill_user().
 * @buf: the bytes.
 * @len: how many.
 * @seed: what the pattern depends on, besides the position.
 */
void pmdesc_test_fill_kernel(u8 *buf, size_t len, u8 seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = seed + i * 7;
}

/**
 * pmdesc_test_expect_kernel_bytes() - Expect a descriptor of kernel memory
 *	to read its bytes and to take writes.
 * @test: the case.
 * @d: the descriptor, of all of @want.
 * @want: the kernel bytes @d describes.
 * @len: how many.
 */
void pmdesc_test_expect_kernel_bytes(struct kunit *test, struct pmdesc *d,
				     u8 *want, size_t len)
{
	static const char msg[] = "through the descriptor";
	u8 *got = kunit_kmalloc(test, len, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, got);
	KUNIT_ASSERT_EQ(test, pmdesc_length(d), len);
	KUNIT_ASSERT_EQ(test, pmdesc_read_bytes(d, 0, got, len), 0);
	KUNIT_EXPECT_MEMEQ(test, got, want, len);
	KUNIT_ASSERT_EQ(test, pmdesc_write_bytes(d, len - sizeof(msg), msg,
						 sizeof(msg)), 0);
	KUNIT_EXPECT_MEMEQ(test, want + len - sizeof(msg), msg, sizeof(msg));
}

static void pmdesc_test_watcher_changed(struct pmdesc_watcher *w)
{
	atomic64_inc(&container_of(w, struct pmdesc_test_watcher, w)->calls);
}

/**
 * pmdesc_test_watcher() - A counting watcher that lives as long as the case.
 * @test: the case.
 *
 * Return: the watcher, never called yet.
 */
struct pmdesc_test_watcher *pmdesc_test_watcher(struct kunit *test)
{
	struct pmdesc_test_watcher *tw;

	tw = kunit_kzalloc(test, sizeof(*tw), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, tw);
	tw->w.changed = pmdesc_test_watcher_changed;
	return tw;
}

/**
 * pmdesc_test_expect_not_copyable() - Expect pmdesc_copy_persistent() and
 *	pmdesc_watch() to refuse a descriptor.
 * @test: the case.
 * @d: the descriptor.
 */
void pmdesc_test_expect_not_copyable(struct kunit *test, struct pmdesc *d)
{
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_copy_persistent(d), ERR_PTR(-EINVAL));
	KUNIT_EXPECT_EQ(test, pmdesc_watch(d, &pmdesc_test_watcher(test)->w),
			-EINVAL);
}

/**
 * pmdesc_test_expect_bad_len_flags() - Expect a create of memory the caller
 *	owns to refuse no bytes, SIZE_MAX bytes and unknown flags.
 * @test: the case.
 * @create: pmdesc_create_kernel(), or a wrapper that describes the memory at
 *	@kaddr another way.
 * @kaddr: the kernel address of the memory.
 */
void pmdesc_test_expect_bad_len_flags(struct kunit *test,
				      struct pmdesc *(*create)(const void *kaddr,
							       size_t len,
							       u32 flags),
				      const void *kaddr)
{
	KUNIT_EXPECT_PTR_EQ(test, create(kaddr, 0, 0), ERR_PTR(-EINVAL));
	KUNIT_EXPECT_PTR_EQ(test, create(kaddr, SIZE_MAX, 0), ERR_PTR(-EINVAL));
	KUNIT_EXPECT_PTR_EQ(test, create(kaddr, 1, ~PMDESC_F_VALID),
			    ERR_PTR(-EINVAL));
}

static void pmdesc_test_free_four_pages(void *page)
{
	__free_pages(page, 2);
}

/**
 * pmdesc_test_alloc_four_pages() - Four pages of the page allocator.
 * @test: the case, which fails if there are none.
 *
 * Return: the first page, freed when the case ends.
 */
struct page *pmdesc_test_alloc_four_pages(struct kunit *test)
{
	struct page *page = alloc_pages(GFP_KERNEL, 2);

	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							pmdesc_test_free_four_pages,
							page), 0);
	return page;
}

MODULE_DESCRIPTION("KUnit tests for persistent memory descriptors");
MODULE_LICENSE("GPL");
