// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of pmdesc_write_bytes(); pmdesc_read_bytes() is checked by
 * every suite that reads what it described.
 */
#include <kunit/test.h>
#include <linux/err.h>
#include <linux/mm.h>
#include <linux/uaccess.h>

#include "pmd_kunit_util.h"

/* Writes go through device-writes descriptors only, into the same pages. */
static void write_bytes_needs_device_writes(struct kunit *test)
{
	unsigned long uaddr = pmdesc_test_map_anon(test, 2);
	static const char msg[] = "written through the descriptor";
	struct pmdesc *ro, *rw;
	char back[sizeof(msg)];

	ro = pmdesc_test_create_one(test, uaddr, 2 * PAGE_SIZE,
				    PMD_F_PERSISTENT | PMD_F_DEVICE_READS);
	rw = pmdesc_test_create_one(test, uaddr, 2 * PAGE_SIZE, PMDESC_RW);
	KUNIT_EXPECT_EQ(test, pmdesc_write_bytes(ro, 0, msg, sizeof(msg)),
			-EPERM);
	KUNIT_EXPECT_EQ(test, pmdesc_write_bytes(rw, 2 * PAGE_SIZE, msg, 1),
			-EINVAL);
	KUNIT_ASSERT_EQ(test, pmdesc_write_bytes(rw, PAGE_SIZE - 3, msg,
						 sizeof(msg)), 0);
	KUNIT_ASSERT_EQ(test, copy_from_user(back, (void __user *)uaddr +
					     PAGE_SIZE - 3, sizeof(back)), 0);
	KUNIT_EXPECT_MEMEQ(test, back, msg, sizeof(msg));
	pmdesc_test_expect_user_bytes(test, ro, 0, uaddr, 2 * PAGE_SIZE);
}

static struct kunit_case pmdesc_write_bytes_cases[] = {
	KUNIT_CASE(write_bytes_needs_device_writes),
	{}
};

PMDESC_TEST_SUITE(pmdesc_write_bytes);

kunit_test_suites(&pmdesc_write_bytes_suite);
