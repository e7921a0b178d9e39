// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of pmdesc_try_copy_persistent(), the copy constructor's
 * walk-free part: it answers what the fast path knows and nothing else.
 */
#include <kunit/test.h>
#include <linux/err.h>
#include <linux/mm.h>

#include "pmd_kunit_util.h"

/* A try that must fail with @err, taking no reference. */
static void pmdesc_test_try_copy_fails(struct kunit *test, struct pmdesc *d,
				       int err)
{
	struct pmdesc *c = pmdesc_try_copy_persistent(d);

	if (!IS_ERR(c))
		pmdesc_put(c);
	KUNIT_EXPECT_PTR_EQ(test, c, ERR_PTR(err));
}

/* A try that must return @d with a reference, which the test drops. */
static void pmdesc_test_try_copy_original(struct kunit *test, struct pmdesc *d)
{
	KUNIT_EXPECT_PTR_EQ(test,
			    pmdesc_test_hold(test, pmdesc_try_copy_persistent(d)),
			    d);
}

/* -EINVAL for what pmdesc_copy_persistent() rejects too. */
static void try_copy_persistent_rejects_bad_original(struct kunit *test)
{
	unsigned long uaddr = pmdesc_test_map_anon(test, 1);
	struct pmdesc *plain;

	pmdesc_test_try_copy_fails(test, NULL, -EINVAL);
	plain = pmdesc_test_create_one(test, uaddr, PAGE_SIZE,
				       PMD_F_DEVICE_READS);
	pmdesc_test_try_copy_fails(test, plain, -EINVAL);
}

/*
 * The original while nothing that can replace a page happened; -EAGAIN
 * once only the walk can tell (even
 * where the walk says original: the page between the ranges), and the
 * original again once a walk found the view current.
 */
static void try_copy_persistent_answers_only_without_a_walk(struct kunit *test)
{
	unsigned long uaddr = pmdesc_test_map_anon(test, 3);
	struct pmd_range r[] = {
		{ .addr = uaddr, .len = PAGE_SIZE },
		{ .addr = uaddr + 2 * PAGE_SIZE, .len = PAGE_SIZE },
	};
	struct pmdesc *d;

	d = pmdesc_test_create_ranges(test, r, ARRAY_SIZE(r), PMDESC_RW);
	/* Long-term pinning may have migrated pages: settle the view. */
	KUNIT_ASSERT_PTR_EQ(test,
			    pmdesc_test_hold(test, pmdesc_copy_persistent(d)),
			    d);
	pmdesc_test_try_copy_original(test, d);
	pmdesc_test_zap_page(test, uaddr + PAGE_SIZE);
	pmdesc_test_try_copy_fails(test, d, -EAGAIN);
	KUNIT_ASSERT_PTR_EQ(test,
			    pmdesc_test_hold(test, pmdesc_copy_persistent(d)),
			    d);
	pmdesc_test_try_copy_original(test, d);
	pmdesc_test_zap_page(test, uaddr);
	pmdesc_test_try_copy_fails(test, d, -EAGAIN);
}

static struct kunit_case pmdesc_try_copy_persistent_cases[] = {
	KUNIT_CASE(try_copy_persistent_rejects_bad_original),
	KUNIT_CASE(try_copy_persistent_answers_only_without_a_walk),
	{}
};

PMDESC_TEST_SUITE(pmdesc_try_copy_persistent);

kunit_test_suites(&pmdesc_try_copy_persistent_suite);
