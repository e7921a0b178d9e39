// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of pmdesc_copy_persistent(), along the copy table: what was
 * done to the memory of a persistent descriptor, and whether its copy is
 * the original, a fresh descriptor or an error.
 */
#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/err.h>
#include <linux/falloc.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "pmd_kunit_util.h"

KUNIT_DEFINE_ACTION_WRAPPER(pmdesc_test_fput_action, fput, struct file *);

static struct pmdesc *pmdesc_test_copy_original(struct kunit *test,
						struct pmdesc *orig)
{
	struct pmdesc *c = pmdesc_test_hold(test, pmdesc_copy_persistent(orig));

	KUNIT_EXPECT_PTR_EQ(test, c, orig);
	return c;
}

static struct pmdesc *pmdesc_test_copy_fresh(struct kunit *test,
					     struct pmdesc *orig)
{
	struct pmdesc *c = pmdesc_test_hold(test, pmdesc_copy_persistent(orig));

	KUNIT_ASSERT_PTR_NE(test, c, orig);
	KUNIT_EXPECT_NE(test, pmdesc_id(c), pmdesc_id(orig));
	KUNIT_EXPECT_EQ(test, pmdesc_flags(c), pmdesc_flags(orig));
	KUNIT_EXPECT_EQ(test, pmdesc_length(c), pmdesc_length(orig));
	KUNIT_EXPECT_EQ(test, pmdesc_nr_pages(c), pmdesc_nr_pages(orig));
	return c;
}

static void copy_persistent_rejects_bad_original(struct kunit *test)
{
	unsigned long uaddr = pmdesc_test_map_anon(test, 1);
	struct pmdesc *d;

	KUNIT_EXPECT_PTR_EQ(test, pmdesc_copy_persistent(NULL),
			    ERR_PTR(-EINVAL));
	d = pmdesc_test_create_one(test, uaddr, PAGE_SIZE,
				   PMD_F_DEVICE_READS | PMD_F_DEVICE_WRITES);
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_copy_persistent(d), ERR_PTR(-EINVAL));
}

/* Copy table: nothing done, or data written: the original. */
static void copy_persistent_unchanged_returns_original(struct kunit *test)
{
	unsigned long uaddr = pmdesc_test_map_anon(test, 3);
	struct pmdesc *d;

	d = pmdesc_test_create_one(test, uaddr + 100, 2 * PAGE_SIZE, PMDESC_RW);
	pmdesc_test_copy_original(test, d);
	pmdesc_test_fill_user(test, uaddr, 3 * PAGE_SIZE, 42);
	pmdesc_test_copy_original(test, d);
	pmdesc_test_expect_user_bytes(test, d, 0, uaddr + 100, 2 * PAGE_SIZE);
}

/*
 * The original path takes a reference: the pins go with the last of two
 * puts. The fresh path makes an independent descriptor.
 */
static void copy_persistent_refcounts(struct kunit *test)
{
	unsigned long uaddr = pmdesc_test_map_anon(test, 2);
	long pins = pmdesc_test_pins_held();
	struct pmdesc *d, *c;

	d = pmdesc_test_create_one(test, uaddr, 2 * PAGE_SIZE, PMDESC_RW);
	c = pmdesc_test_copy_original(test, d);
	pmdesc_test_put(test, c);
	KUNIT_EXPECT_EQ(test, pmdesc_test_pins_held() - pins, 2);
	pmdesc_test_expect_user_bytes(test, d, 0, uaddr, 2 * PAGE_SIZE);
	pmdesc_test_put(test, d);
	KUNIT_EXPECT_EQ(test, pmdesc_test_pins_held(), pins);

	d = pmdesc_test_create_one(test, uaddr, 2 * PAGE_SIZE, PMDESC_RW);
	pmdesc_test_zap_page(test, uaddr);
	c = pmdesc_test_copy_fresh(test, d);
	KUNIT_EXPECT_EQ(test, pmdesc_test_pins_held() - pins, 4);
	pmdesc_test_put(test, d);
	KUNIT_EXPECT_EQ(test, pmdesc_test_pins_held() - pins, 2);
	pmdesc_test_expect_user_bytes(test, c, 0, uaddr, 2 * PAGE_SIZE);
	pmdesc_test_put(test, c);
	KUNIT_EXPECT_EQ(test, pmdesc_test_pins_held(), pins);
}

struct pmdesc_test_remap {
	const char *desc;
	u32 flags;
	bool touch;	/* write the new memory before the copy */
};

static const struct pmdesc_test_remap pmdesc_test_remap_cases[] = {
	{ .desc = "device writes, written", .flags = PMDESC_RW, .touch = true },
	{ .desc = "device writes, untouched", .flags = PMDESC_RW },
	{ .desc = "device reads, untouched",
	  .flags = PMD_F_PERSISTENT | PMD_F_DEVICE_READS },
};

KUNIT_ARRAY_PARAM_DESC(pmdesc_test_remap, pmdesc_test_remap_cases, desc);

/*
 * Copy table: munmap + anonymous MAP_FIXED mmap at the same address: fresh,
 * reading the new memory, while the original still reads the old data.
 */
static void copy_persistent_remapped_returns_fresh(struct kunit *test)
{
	const struct pmdesc_test_remap *p = test->param_value;
	unsigned long len = 2 * PAGE_SIZE;
	unsigned long uaddr = pmdesc_test_map_anon(test, 2);
	u8 *old = kunit_kmalloc(test, len, GFP_KERNEL);
	u8 *got = kunit_kmalloc(test, len, GFP_KERNEL);
	struct pmdesc *d;

	KUNIT_ASSERT_NOT_NULL(test, old);
	KUNIT_ASSERT_NOT_NULL(test, got);
	KUNIT_ASSERT_EQ(test, copy_from_user(old, (void __user *)uaddr, len),
			0);
	d = pmdesc_test_create_one(test, uaddr, len, p->flags);
	KUNIT_ASSERT_EQ(test, vm_munmap(uaddr, len), 0);
	KUNIT_ASSERT_EQ(test, vm_mmap(NULL, uaddr, len, PROT_READ | PROT_WRITE,
				      MAP_ANONYMOUS | MAP_PRIVATE | MAP_FIXED,
				      0), uaddr);
	if (p->touch)
		pmdesc_test_fill_user(test, uaddr, len, 99);
	pmdesc_test_expect_user_bytes(test, pmdesc_test_copy_fresh(test, d), 0,
				      uaddr, len);
	KUNIT_ASSERT_EQ(test, pmdesc_read_bytes(d, 0, got, len), 0);
	KUNIT_EXPECT_MEMEQ(test, got, old, len);
}

/* Copy table: munmap only: -EFAULT. */
static void copy_persistent_unmapped_fails(struct kunit *test)
{
	unsigned long uaddr = pmdesc_test_map_anon(test, 3);
	long pins = pmdesc_test_pins_held();
	struct pmdesc *d;

	d = pmdesc_test_create_one(test, uaddr, 3 * PAGE_SIZE, PMDESC_RW);
	KUNIT_ASSERT_EQ(test, vm_munmap(uaddr + PAGE_SIZE, PAGE_SIZE), 0);
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_copy_persistent(d), ERR_PTR(-EFAULT));
	KUNIT_EXPECT_EQ(test, pmdesc_test_pins_held() - pins, 3);
}

static const unsigned long pmdesc_test_zapped_pages[] = { 0, 1, 2 };

static void pmdesc_test_zapped_desc(const unsigned long *zapped, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "page %lu zapped", *zapped);
}

KUNIT_ARRAY_PARAM(pmdesc_test_zapped, pmdesc_test_zapped_pages,
		  pmdesc_test_zapped_desc);

/* Copy table: MADV_DONTNEED of any one page: fresh. */
static void copy_persistent_dontneed_returns_fresh(struct kunit *test)
{
	const unsigned long i = *(const unsigned long *)test->param_value;
	unsigned long uaddr = pmdesc_test_map_anon(test, 3);
	struct pmdesc *d = pmdesc_test_create_one(test, uaddr, 3 * PAGE_SIZE,
						  PMDESC_RW);
	struct pmdesc *c;
	unsigned long p;

	pmdesc_test_zap_page(test, uaddr + i * PAGE_SIZE);
	c = pmdesc_test_copy_fresh(test, d);
	for (p = 0; p < 3; p++)
		KUNIT_EXPECT_EQ_MSG(test,
				    pmdesc_page(c, p) == pmdesc_page(d, p),
				    p != i, "zapped %lu, page %lu", i, p);
}

/* One range of several changed: fresh, over the same ranges. */
static void copy_persistent_multi_range_one_changed(struct kunit *test)
{
	unsigned long uaddr = pmdesc_test_map_anon(test, 6);
	struct pmd_range r[] = {
		{ .addr = uaddr + 4 * PAGE_SIZE + 7, .len = PAGE_SIZE },
		{ .addr = uaddr + 1, .len = PAGE_SIZE - 2 },
	};
	struct pmdesc *d, *c;

	d = pmdesc_test_create_ranges(test, r, ARRAY_SIZE(r), PMDESC_RW);
	pmdesc_test_copy_original(test, d);
	pmdesc_test_zap_page(test, uaddr + 5 * PAGE_SIZE);
	pmdesc_test_fill_user(test, uaddr, 6 * PAGE_SIZE, 77);
	c = pmdesc_test_copy_fresh(test, d);
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_page(c, 0), pmdesc_page(d, 0));
	KUNIT_EXPECT_PTR_NE(test, pmdesc_page(c, 1), pmdesc_page(d, 1));
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_page(c, 2), pmdesc_page(d, 2));
	pmdesc_test_expect_user_bytes(test, c, 0, r[0].addr, r[0].len);
	pmdesc_test_expect_user_bytes(test, c, r[0].len, r[1].addr, r[1].len);
}

/* A copy that must be fresh is charged in full, so it can fail on the limit. */
static void copy_persistent_fresh_over_memlock_fails(struct kunit *test)
{
	unsigned long uaddr = pmdesc_test_map_anon(test, 2);
	struct pmd_range r = { .addr = uaddr, .len = 2 * PAGE_SIZE };
	long locked = pmdesc_test_locked_vm();
	struct pmdesc_test_memlock lim;
	struct pmdesc *d, *c;

	d = pmdesc_test_hold(test, pmdesc_test_create_limited(test, current->mm,
							      &r, locked + 2));
	/* At the limit, the original needs no new charge. */
	pmdesc_test_limit_memlock(test, &lim, locked + 2);
	c = pmdesc_copy_persistent(d);
	pmdesc_test_unlimit_memlock(&lim);
	KUNIT_EXPECT_PTR_EQ(test, c, d);
	if (!IS_ERR(c))
		pmdesc_put(c);

	pmdesc_test_zap_page(test, uaddr + PAGE_SIZE);
	pmdesc_test_limit_memlock(test, &lim, locked + 2);
	c = pmdesc_copy_persistent(d);
	pmdesc_test_unlimit_memlock(&lim);
	KUNIT_EXPECT_PTR_EQ(test, c, ERR_PTR(-ENOMEM));
	KUNIT_EXPECT_EQ(test, pmdesc_test_locked_vm(), locked + 2);
	KUNIT_EXPECT_EQ(test, atomic64_read(&current->mm->pinned_vm), 2);
}

/*
 * An invalidation that changes nothing the descriptor recorded (here: a page
 * between its two ranges) calls the watcher; the copy still returns
 * the original, through the slow path.
 */
static void copy_persistent_spurious_invalidation_returns_original(struct kunit *test)
{
	unsigned long uaddr = pmdesc_test_map_anon(test, 3);
	struct pmd_range r[] = {
		{ .addr = uaddr, .len = PAGE_SIZE },
		{ .addr = uaddr + 2 * PAGE_SIZE, .len = PAGE_SIZE },
	};
	/* Outlives the descriptor, whose release comes later. */
	struct pmdesc_test_watcher *tw = pmdesc_test_watcher(test);
	struct pmdesc *d;
	s64 seen;

	d = pmdesc_test_create_ranges(test, r, ARRAY_SIZE(r), PMDESC_RW);
	KUNIT_ASSERT_EQ(test, pmdesc_watch(d, &tw->w), 0);
	pmdesc_test_copy_original(test, d);
	KUNIT_EXPECT_EQ(test, atomic64_read(&tw->calls), 0);
	pmdesc_test_zap_page(test, uaddr + PAGE_SIZE);
	KUNIT_EXPECT_GT(test, atomic64_read(&tw->calls), 0);
	pmdesc_test_copy_original(test, d);
	seen = atomic64_read(&tw->calls);
	pmdesc_test_zap_page(test, uaddr + 2 * PAGE_SIZE);
	KUNIT_EXPECT_GT(test, atomic64_read(&tw->calls), seen);
	pmdesc_test_copy_fresh(test, d);
}

struct pmdesc_test_kthread_copy {
	struct pmdesc *orig;
	struct pmdesc *copy;
	struct completion done;
};

static int pmdesc_test_kthread_copy_fn(void *data)
{
	struct pmdesc_test_kthread_copy *ck = data;

	ck->copy = pmdesc_copy_persistent(ck->orig);
	complete(&ck->done);
	return 0;
}

/* Copy from a task without the descriptor's mm (no mm at all). */
static struct pmdesc *pmdesc_test_copy_from_kthread(struct kunit *test,
						    struct pmdesc *orig)
{
	struct pmdesc_test_kthread_copy ck = { .orig = orig };
	struct task_struct *task;

	init_completion(&ck.done);
	task = kthread_run(pmdesc_test_kthread_copy_fn, &ck,
			   "pmdesc-kunit-copy");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, task);
	wait_for_completion(&ck.done);
	return pmdesc_test_hold(test, ck.copy);
}

/* The copy re-walks the descriptor's own mm, not the caller's. */
static void copy_persistent_from_other_task(struct kunit *test)
{
	unsigned long uaddr = pmdesc_test_map_anon(test, 2);
	struct pmdesc *d, *c;

	d = pmdesc_test_create_one(test, uaddr, 2 * PAGE_SIZE, PMDESC_RW);
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_test_copy_from_kthread(test, d), d);
	pmdesc_test_zap_page(test, uaddr + PAGE_SIZE);
	c = pmdesc_test_copy_from_kthread(test, d);
	KUNIT_EXPECT_PTR_NE(test, c, d);
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_page(c, 0), pmdesc_page(d, 0));
	KUNIT_EXPECT_PTR_NE(test, pmdesc_page(c, 1), pmdesc_page(d, 1));
	pmdesc_test_expect_user_bytes(test, c, 0, uaddr, 2 * PAGE_SIZE);
}

static struct file *pmdesc_test_shmem_file(struct kunit *test, size_t len)
{
	struct file *file = shmem_file_setup("pmdesc-kunit", len, 0);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, file);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							pmdesc_test_fput_action,
							file), 0);
	return file;
}

static unsigned long pmdesc_test_map_shared(struct kunit *test,
					    struct file *file,
					    unsigned long addr, size_t len)
{
	return pmdesc_test_map_user(test, file, addr, len,
				    PROT_READ | PROT_WRITE,
				    MAP_SHARED | (addr ? MAP_FIXED : 0));
}

/* Copy table: shared memfd, fallocate(PUNCH_HOLE) over one page: fresh. */
static void copy_persistent_punch_hole_returns_fresh(struct kunit *test)
{
	size_t len = 3 * PAGE_SIZE;
	struct file *file = pmdesc_test_shmem_file(test, len);
	unsigned long uaddr = pmdesc_test_map_shared(test, file, 0, len);
	struct pmdesc *d, *c;

	pmdesc_test_fill_user(test, uaddr, len, 5);
	d = pmdesc_test_create_one(test, uaddr, len, PMDESC_RW);
	pmdesc_test_copy_original(test, d);
	KUNIT_ASSERT_EQ(test, vfs_fallocate(file, FALLOC_FL_PUNCH_HOLE |
					    FALLOC_FL_KEEP_SIZE, PAGE_SIZE,
					    PAGE_SIZE), 0);
	c = pmdesc_test_copy_fresh(test, d);
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_page(c, 0), pmdesc_page(d, 0));
	KUNIT_EXPECT_PTR_NE(test, pmdesc_page(c, 1), pmdesc_page(d, 1));
	pmdesc_test_expect_user_bytes(test, c, 0, uaddr, len);
}

/*
 * Copy table: shared memfd, munmap, then mmap of the same file pages at the same
 * address: the same real memory, so the original.
 */
static void copy_persistent_shmem_remapped_returns_original(struct kunit *test)
{
	size_t len = 2 * PAGE_SIZE;
	struct file *file = pmdesc_test_shmem_file(test, len);
	unsigned long uaddr = pmdesc_test_map_shared(test, file, 0, len);
	struct pmdesc *d;

	pmdesc_test_fill_user(test, uaddr, len, 9);
	d = pmdesc_test_create_one(test, uaddr, len, PMDESC_RW);
	KUNIT_ASSERT_EQ(test, vm_munmap(uaddr, len), 0);
	KUNIT_ASSERT_EQ(test, pmdesc_test_map_shared(test, file, uaddr, len),
			uaddr);
	pmdesc_test_copy_original(test, d);
}

static bool pmdesc_test_is_huge(struct page *page)
{
	return folio_test_large(page_folio(page));
}

/* Copy table: a range over a transparent huge page, nothing done: original. */
static void copy_persistent_thp_returns_original(struct kunit *test)
{
	unsigned long uaddr, huge;
	struct pmdesc *d;

	pmdesc_test_need_thp(test);
	uaddr = pmdesc_test_map_user(test, NULL, 0, 2 * HPAGE_PMD_SIZE,
				     PROT_READ | PROT_WRITE,
				     MAP_ANONYMOUS | MAP_PRIVATE);
	huge = ALIGN(uaddr, HPAGE_PMD_SIZE);
	pmdesc_test_fill_user(test, huge, HPAGE_PMD_SIZE, 3);
	d = pmdesc_test_create_one(test, huge + PAGE_SIZE + 1,
				   HPAGE_PMD_SIZE - 2 * PAGE_SIZE, PMDESC_RW);
	KUNIT_ASSERT_TRUE_MSG(test, pmdesc_test_is_huge(pmdesc_page(d, 0)),
			      "boot with transparent_hugepage=always");
	pmdesc_test_copy_original(test, d);
	pmdesc_test_zap_page(test, huge + HPAGE_PMD_SIZE / 2);
	pmdesc_test_copy_fresh(test, d);
}

/*
 * Ranges of whole huge pages, compared one PMD at a time: after a spurious
 * invalidation (a page zapped between the ranges) the original; after one
 * range got a new huge page, fresh.
 */
static void copy_persistent_whole_thps(struct kunit *test)
{
	unsigned long uaddr, huge, len;
	struct pmd_range r[2];
	struct pmdesc *d;

	pmdesc_test_need_thp(test);
	len = HPAGE_PMD_SIZE;
	uaddr = pmdesc_test_map_user(test, NULL, 0, 4 * len,
				     PROT_READ | PROT_WRITE,
				     MAP_ANONYMOUS | MAP_PRIVATE);
	huge = ALIGN(uaddr, len);
	pmdesc_test_fill_user(test, huge, 3 * len, 5);
	r[0] = (struct pmd_range){ .addr = huge, .len = len };
	r[1] = (struct pmd_range){ .addr = huge + 2 * len, .len = len };
	d = pmdesc_test_create_ranges(test, r, ARRAY_SIZE(r), PMDESC_RW);
	KUNIT_ASSERT_TRUE_MSG(test, pmdesc_test_is_huge(pmdesc_page(d, 0)) &&
			      pmdesc_test_is_huge(pmdesc_page(d,
							      len >> PAGE_SHIFT)),
			      "boot with transparent_hugepage=always");
	pmdesc_test_zap_page(test, huge + len + PAGE_SIZE);
	pmdesc_test_copy_original(test, d);

	KUNIT_ASSERT_EQ(test, vm_munmap(huge, len), 0);
	KUNIT_ASSERT_EQ(test, vm_mmap(NULL, huge, len, PROT_READ | PROT_WRITE,
				      MAP_ANONYMOUS | MAP_PRIVATE | MAP_FIXED,
				      0), huge);
	pmdesc_test_fill_user(test, huge, len, 6);
	KUNIT_EXPECT_TRUE(test,
			  pmdesc_test_is_huge(pmdesc_page(pmdesc_test_copy_fresh(test, d),
							  0)));
}

static struct kunit_case pmdesc_copy_persistent_cases[] = {
	KUNIT_CASE(copy_persistent_rejects_bad_original),
	KUNIT_CASE(copy_persistent_unchanged_returns_original),
	KUNIT_CASE(copy_persistent_refcounts),
	KUNIT_CASE_PARAM(copy_persistent_remapped_returns_fresh,
			 pmdesc_test_remap_gen_params),
	KUNIT_CASE(copy_persistent_unmapped_fails),
	KUNIT_CASE_PARAM(copy_persistent_dontneed_returns_fresh,
			 pmdesc_test_zapped_gen_params),
	KUNIT_CASE(copy_persistent_multi_range_one_changed),
	KUNIT_CASE(copy_persistent_fresh_over_memlock_fails),
	KUNIT_CASE(copy_persistent_spurious_invalidation_returns_original),
	KUNIT_CASE(copy_persistent_from_other_task),
	KUNIT_CASE(copy_persistent_punch_hole_returns_fresh),
	KUNIT_CASE(copy_persistent_shmem_remapped_returns_original),
	KUNIT_CASE(copy_persistent_thp_returns_original),
	KUNIT_CASE(copy_persistent_whole_thps),
	{}
};

PMDESC_TEST_SUITE(pmdesc_copy_persistent);

kunit_test_suites(&pmdesc_copy_persistent_suite);
