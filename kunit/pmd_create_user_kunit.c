// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of pmdesc_create_user(): pins, charges, byte-granular ranges,
 * argument checks, and the release of what it took.
 */
#include <kunit/test.h>
#include <linux/err.h>
#include <linux/kthread.h>
#include <linux/limits.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>

#include "pmd_kunit_util.h"

static void create_user_pins_and_charges_every_page(struct kunit *test)
{
	unsigned long uaddr = pmdesc_test_map_anon(test, 4);
	long pins = pmdesc_test_pins_held(), locked = pmdesc_test_locked_vm();
	struct mm_struct *mm = current->mm;
	struct pmdesc *d;

	d = pmdesc_test_create_one(test, uaddr, 4 * PAGE_SIZE, PMDESC_RW);
	KUNIT_EXPECT_EQ(test, pmdesc_nr_pages(d), 4);
	KUNIT_EXPECT_EQ(test, pmdesc_length(d), 4 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, pmdesc_flags(d), PMDESC_RW);
	KUNIT_EXPECT_EQ(test, pmdesc_test_pins_held() - pins, 4);
	KUNIT_EXPECT_EQ(test, pmdesc_test_locked_vm() - locked, 4);
	KUNIT_EXPECT_EQ(test, atomic64_read(&mm->pinned_vm), 4);
	KUNIT_EXPECT_NULL(test, pmdesc_page(d, 4));
	pmdesc_test_expect_user_bytes(test, d, 0, uaddr, 4 * PAGE_SIZE);

	pmdesc_test_put(test, d);
	KUNIT_EXPECT_EQ(test, pmdesc_test_pins_held(), pins);
	KUNIT_EXPECT_EQ(test, pmdesc_test_locked_vm(), locked);
	KUNIT_EXPECT_EQ(test, atomic64_read(&mm->pinned_vm), 0);
}

struct pmdesc_test_unaligned {
	size_t start;
	size_t len;
};

/* Every start of the four against every length of the six. */
static const struct pmdesc_test_unaligned pmdesc_test_unaligned_cases[] = {
	{ 0, 1 }, { 0, 2 }, { 0, PAGE_SIZE - 1 }, { 0, PAGE_SIZE },
	{ 0, PAGE_SIZE + 1 }, { 0, 2 * PAGE_SIZE + 1 },
	{ 1, 1 }, { 1, 2 }, { 1, PAGE_SIZE - 1 }, { 1, PAGE_SIZE },
	{ 1, PAGE_SIZE + 1 }, { 1, 2 * PAGE_SIZE + 1 },
	{ PAGE_SIZE - 1, 1 }, { PAGE_SIZE - 1, 2 },
	{ PAGE_SIZE - 1, PAGE_SIZE - 1 }, { PAGE_SIZE - 1, PAGE_SIZE },
	{ PAGE_SIZE - 1, PAGE_SIZE + 1 }, { PAGE_SIZE - 1, 2 * PAGE_SIZE + 1 },
	{ PAGE_SIZE, 1 }, { PAGE_SIZE, 2 },
	{ PAGE_SIZE, PAGE_SIZE - 1 }, { PAGE_SIZE, PAGE_SIZE },
	{ PAGE_SIZE, PAGE_SIZE + 1 }, { PAGE_SIZE, 2 * PAGE_SIZE + 1 },
};

static void pmdesc_test_unaligned_desc(const struct pmdesc_test_unaligned *c,
				       char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "start %zu len %zu", c->start,
		 c->len);
}

KUNIT_ARRAY_PARAM(pmdesc_test_unaligned, pmdesc_test_unaligned_cases,
		  pmdesc_test_unaligned_desc);

/*
 * Byte-granular ranges: a range covers the pages its bytes touch, and every
 * byte offset reads back the byte at that address, up to the end and no
 * further.
 */
static void create_user_unaligned_ranges(struct kunit *test)
{
	const struct pmdesc_test_unaligned *c = test->param_value;
	unsigned long uaddr = pmdesc_test_map_anon(test, 4);
	size_t start = c->start, len = c->len;
	long pins = pmdesc_test_pins_held();
	struct pmdesc *d;
	u8 byte;

	d = pmdesc_test_create_one(test, uaddr + start, len, PMDESC_RW);
	KUNIT_EXPECT_EQ_MSG(test, pmdesc_nr_pages(d),
			    DIV_ROUND_UP(start % PAGE_SIZE + len, PAGE_SIZE),
			    "start %zu len %zu", start, len);
	KUNIT_EXPECT_EQ(test, pmdesc_length(d), len);
	KUNIT_EXPECT_EQ(test, pmdesc_test_pins_held() - pins,
			pmdesc_nr_pages(d));
	pmdesc_test_expect_user_bytes(test, d, 0, uaddr + start, len);
	pmdesc_test_expect_user_bytes(test, d, len - 1,
				      uaddr + start + len - 1, 1);
	KUNIT_EXPECT_EQ(test, pmdesc_read_bytes(d, len, &byte, 0), 0);
	KUNIT_EXPECT_EQ(test, pmdesc_read_bytes(d, len, &byte, 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, pmdesc_read_bytes(d, 0, &byte, len + 1),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, pmdesc_read_bytes(d, SIZE_MAX, &byte, 1),
			-EINVAL);
	pmdesc_test_put(test, d);
	KUNIT_EXPECT_EQ(test, pmdesc_test_pins_held(), pins);
}

/* Bytes of several ranges read end to end, across range boundaries. */
static void create_user_multi_range(struct kunit *test)
{
	unsigned long uaddr = pmdesc_test_map_anon(test, 8);
	struct pmd_range r[] = {
		{ .addr = uaddr + 5 * PAGE_SIZE + 3, .len = PAGE_SIZE },
		{ .addr = uaddr + 10, .len = 20 },
		{ .addr = uaddr + 2 * PAGE_SIZE - 1, .len = 2 },
	};
	size_t off = 0;
	struct pmdesc *d, *whole;
	unsigned int i;

	whole = pmdesc_test_create_one(test, uaddr, 8 * PAGE_SIZE, PMDESC_RW);
	d = pmdesc_test_create_ranges(test, r, ARRAY_SIZE(r), PMDESC_RW);
	KUNIT_EXPECT_EQ(test, pmdesc_nr_pages(d), 2 + 1 + 2);
	KUNIT_EXPECT_EQ(test, pmdesc_length(d), PAGE_SIZE + 20 + 2);
	for (i = 0; i < ARRAY_SIZE(r); off += r[i].len, i++) {
		pmdesc_test_expect_user_bytes(test, d, off, r[i].addr,
					      r[i].len);
		pmdesc_test_expect_user_bytes(test, d, off + r[i].len - 1,
					      r[i].addr + r[i].len - 1, 1);
	}
	/* Pages are recorded range after range, in the order given. */
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_page(d, 0), pmdesc_page(whole, 5));
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_page(d, 1), pmdesc_page(whole, 6));
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_page(d, 2), pmdesc_page(whole, 0));
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_page(d, 3), pmdesc_page(whole, 1));
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_page(d, 4), pmdesc_page(whole, 2));
}

static void pmdesc_test_expect_create_error(struct kunit *test,
					    struct mm_struct *mm,
					    const struct pmd_range *r,
					    unsigned int nr, u32 flags,
					    int err)
{
	long pins = pmdesc_test_pins_held(), locked = pmdesc_test_locked_vm();

	KUNIT_EXPECT_PTR_EQ(test, pmdesc_create_user(mm, r, nr, flags),
			    ERR_PTR(err));
	KUNIT_EXPECT_EQ(test, pmdesc_test_pins_held(), pins);
	KUNIT_EXPECT_EQ(test, pmdesc_test_locked_vm(), locked);
}

/* The first range of a bad argument set; the second is always empty. */
enum pmdesc_test_range {
	PMDESC_TEST_RANGE_OK,		/* the first page of the mapping */
	PMDESC_TEST_RANGE_EMPTY,	/* no bytes */
	PMDESC_TEST_RANGE_WRAP,		/* wraps around the address space */
	PMDESC_TEST_RANGE_HIGH,		/* ends past the task size */
};

struct pmdesc_test_bad_args {
	const char *desc;
	bool no_mm;
	bool no_ranges;
	enum pmdesc_test_range range;
	unsigned int nr_ranges;
	u32 flags;
};

static const struct pmdesc_test_bad_args pmdesc_test_bad_args_cases[] = {
	{ .desc = "no mm", .no_mm = true, .nr_ranges = 1, .flags = PMDESC_RW },
	{ .desc = "no ranges", .no_ranges = true, .nr_ranges = 1,
	  .flags = PMDESC_RW },
	{ .desc = "zero ranges", .nr_ranges = 0, .flags = PMDESC_RW },
	{ .desc = "too many ranges", .nr_ranges = PMD_MAX_RANGES + 1,
	  .flags = PMDESC_RW },
	{ .desc = "unknown flag", .nr_ranges = 1,
	  .flags = PMDESC_F_VALID + 1 },
	{ .desc = "flag bit 31", .nr_ranges = 1, .flags = BIT(31) },
	{ .desc = "empty range", .range = PMDESC_TEST_RANGE_EMPTY,
	  .nr_ranges = 1, .flags = PMDESC_RW },
	{ .desc = "empty second range", .nr_ranges = 2, .flags = PMDESC_RW },
	{ .desc = "wrapping range", .range = PMDESC_TEST_RANGE_WRAP,
	  .nr_ranges = 1, .flags = PMDESC_RW },
	{ .desc = "range past the task size", .range = PMDESC_TEST_RANGE_HIGH,
	  .nr_ranges = 1, .flags = PMDESC_RW },
};

KUNIT_ARRAY_PARAM_DESC(pmdesc_test_bad_args, pmdesc_test_bad_args_cases,
		       desc);

static void create_user_rejects_bad_arguments(struct kunit *test)
{
	const struct pmdesc_test_bad_args *c = test->param_value;
	unsigned long uaddr = pmdesc_test_map_anon(test, 2);
	struct mm_struct *mm = current->mm;
	struct pmd_range ok = { .addr = uaddr, .len = PAGE_SIZE };
	struct pmd_range zero = { .addr = uaddr, .len = 0 };
	struct pmd_range wrap = { .addr = U64_MAX - 10, .len = 100 };
	struct pmd_range high = { .addr = mm->task_size - PAGE_SIZE,
				  .len = 2 * PAGE_SIZE };
	const struct pmd_range first[] = {
		[PMDESC_TEST_RANGE_OK] = ok,
		[PMDESC_TEST_RANGE_EMPTY] = zero,
		[PMDESC_TEST_RANGE_WRAP] = wrap,
		[PMDESC_TEST_RANGE_HIGH] = high,
	};
	struct pmd_range many[2] = { first[c->range], zero };

	pmdesc_test_expect_create_error(test, c->no_mm ? NULL : mm,
					c->no_ranges ? NULL : many,
					c->nr_ranges, c->flags, -EINVAL);
}

/* A hole anywhere in the ranges: -EFAULT, and the pages before it unpinned. */
static void create_user_unmapped_fails(struct kunit *test)
{
	unsigned long uaddr = pmdesc_test_map_anon(test, 4);
	struct pmd_range r = { .addr = uaddr, .len = 4 * PAGE_SIZE };

	KUNIT_ASSERT_EQ(test, vm_munmap(uaddr + 2 * PAGE_SIZE, PAGE_SIZE), 0);
	pmdesc_test_expect_create_error(test, current->mm, &r, 1, PMDESC_RW,
					-EFAULT);
	pmdesc_test_expect_create_error(test, current->mm, &r, 1,
					PMD_F_DEVICE_READS, -EFAULT);
}

/* Device writes need a writable mapping; device reads do not. */
static void create_user_read_only_mapping(struct kunit *test)
{
	unsigned long uaddr = pmdesc_test_map_user(test, NULL, 0,
						   2 * PAGE_SIZE, PROT_READ,
						   MAP_ANONYMOUS | MAP_PRIVATE);
	struct pmd_range r = { .addr = uaddr, .len = 2 * PAGE_SIZE };
	struct pmdesc *d;

	pmdesc_test_expect_create_error(test, current->mm, &r, 1, PMDESC_RW,
					-EFAULT);
	d = pmdesc_test_create_one(test, uaddr, 2 * PAGE_SIZE,
				   PMD_F_PERSISTENT | PMD_F_DEVICE_READS);
	KUNIT_EXPECT_EQ(test, pmdesc_nr_pages(d), 2);
}

/*
 * Without CAP_IPC_LOCK the pins are limited by RLIMIT_MEMLOCK, counted per
 * descriptor: two descriptors of the same pages charge twice.
 */
static void create_user_over_memlock_fails(struct kunit *test)
{
	unsigned long uaddr = pmdesc_test_map_anon(test, 4);
	struct pmd_range r = { .addr = uaddr, .len = 4 * PAGE_SIZE };
	long locked = pmdesc_test_locked_vm(), pins = pmdesc_test_pins_held();
	struct mm_struct *mm = current->mm;

	KUNIT_EXPECT_PTR_EQ(test,
			    pmdesc_test_create_limited(test, mm, &r, locked + 3),
			    ERR_PTR(-ENOMEM));
	KUNIT_EXPECT_EQ(test, pmdesc_test_locked_vm(), locked);
	KUNIT_EXPECT_EQ(test, atomic64_read(&mm->pinned_vm), 0);
	KUNIT_EXPECT_EQ(test, pmdesc_test_pins_held(), pins);

	pmdesc_test_hold(test, pmdesc_test_create_limited(test, mm, &r,
							  locked + 7));
	KUNIT_EXPECT_PTR_EQ(test,
			    pmdesc_test_create_limited(test, mm, &r, locked + 7),
			    ERR_PTR(-ENOMEM));
	KUNIT_EXPECT_EQ(test, pmdesc_test_locked_vm(), locked + 4);
	KUNIT_EXPECT_EQ(test, atomic64_read(&mm->pinned_vm), 4);
}

/*
 * The owner's address space goes away while a descriptor lives: copies fail
 * with -ESRCH and the last put still returns the charge.
 */
static void put_after_owner_exit_uncharges(struct kunit *test)
{
	unsigned long uaddr = pmdesc_test_map_anon(test, 3);
	struct mm_struct *mm = current->mm;
	long locked = pmdesc_test_locked_vm();
	struct pmdesc *d;

	d = pmdesc_test_create_one(test, uaddr, 3 * PAGE_SIZE, PMDESC_RW);
	KUNIT_EXPECT_EQ(test, pmdesc_test_locked_vm() - locked, 3);
	/* Do what exit_mm() would do with the KUnit mm. */
	kthread_unuse_mm(mm);
	mmput(mm);
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_copy_persistent(d), ERR_PTR(-ESRCH));
	pmdesc_test_put(test, d);
	KUNIT_EXPECT_EQ(test, pmdesc_test_locked_vm(), locked);
}

static struct kunit_case pmdesc_create_user_cases[] = {
	KUNIT_CASE(create_user_pins_and_charges_every_page),
	KUNIT_CASE_PARAM(create_user_unaligned_ranges,
			 pmdesc_test_unaligned_gen_params),
	KUNIT_CASE(create_user_multi_range),
	KUNIT_CASE_PARAM(create_user_rejects_bad_arguments,
			 pmdesc_test_bad_args_gen_params),
	KUNIT_CASE(create_user_unmapped_fails),
	KUNIT_CASE(create_user_read_only_mapping),
	KUNIT_CASE(create_user_over_memlock_fails),
	KUNIT_CASE(put_after_owner_exit_uncharges),
	{}
};

PMDESC_TEST_SUITE(pmdesc_create_user);

kunit_test_suites(&pmdesc_create_user_suite);
