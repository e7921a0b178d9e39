// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of pmdesc_create_kernel(): descriptors of lowmem and vmalloc
 * memory, their pages and physical segments.
 */
#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/err.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "pmd_kunit_util.h"

KUNIT_DEFINE_ACTION_WRAPPER(pmdesc_test_vfree_action, vfree, const void *);

/* The physical address of byte @offset of kernel buffer @buf. */
static phys_addr_t pmdesc_test_kernel_phys(const u8 *buf, size_t offset)
{
	const u8 *p = buf + offset;
	struct page *page = is_vmalloc_addr(p) ? vmalloc_to_page(p) :
						 virt_to_page(p);

	return page_to_phys(page) + offset_in_page(p);
}

/*
 * Expect pmdesc_phys_segment() to cut @d, a descriptor of kernel buffer
 * @buf, into maximal runs: each ends where the next byte is not at the
 * physical address that follows.
 */
static void pmdesc_test_expect_kernel_segments(struct kunit *test,
					       struct pmdesc *d,
					       const u8 *buf)
{
	size_t offset, len, i;
	phys_addr_t pa;

	for (offset = 0; offset < pmdesc_length(d); offset += len) {
		pa = pmdesc_phys_segment(d, offset, &len);
		KUNIT_ASSERT_GT(test, len, 0);
		KUNIT_ASSERT_LE(test, len, pmdesc_length(d) - offset);
		for (i = 0; i < len; i += PAGE_SIZE - offset_in_page(buf + offset + i))
			KUNIT_EXPECT_EQ(test,
					pmdesc_test_kernel_phys(buf, offset + i),
					pa + i);
		if (offset + len < pmdesc_length(d))
			KUNIT_EXPECT_NE(test,
					pmdesc_test_kernel_phys(buf, offset + len),
					pa + len);
	}
}

/*
 * Lowmem (kmalloc, physically contiguous): the pages of the buffer, one
 * physical segment, not copyable.
 */
static void create_kernel_lowmem(struct kunit *test)
{
	size_t len = 3 * PAGE_SIZE - 10;
	u8 *buf = kunit_kmalloc(test, 3 * PAGE_SIZE, GFP_KERNEL);
	long pins = pmdesc_test_pins_held();
	struct pmdesc *d;
	size_t seg;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	pmdesc_test_fill_kernel(buf, 3 * PAGE_SIZE, 1);
	d = pmdesc_test_hold(test, pmdesc_create_kernel(buf + 5, len,
							PMDESC_RW));
	KUNIT_EXPECT_EQ(test, pmdesc_nr_pages(d),
			DIV_ROUND_UP(offset_in_page(buf + 5) + len, PAGE_SIZE));
	KUNIT_EXPECT_EQ(test, pmdesc_nr_ranges(d), 1);
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_page(d, 0), virt_to_page(buf + 5));
	KUNIT_EXPECT_EQ(test, pmdesc_phys_segment(d, 0, &seg),
			virt_to_phys(buf + 5));
	KUNIT_EXPECT_EQ(test, seg, len);
	pmdesc_test_expect_kernel_bytes(test, d, buf + 5, len);
	pmdesc_test_expect_not_copyable(test, d);
	KUNIT_EXPECT_EQ(test, pmdesc_test_pins_held(), pins);
}

/* vmalloc: the page behind each page of the mapping, maximal segments. */
static void create_kernel_vmalloc(struct kunit *test)
{
	size_t len = 16 * PAGE_SIZE;
	struct pmdesc *d;
	unsigned long i;
	u8 *buf;

	buf = vmalloc(len);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							pmdesc_test_vfree_action,
							buf), 0);
	pmdesc_test_fill_kernel(buf, len, 2);
	d = pmdesc_test_hold(test, pmdesc_create_kernel(buf + 1, len - 1,
							PMD_F_DEVICE_READS |
							PMD_F_DEVICE_WRITES));
	KUNIT_ASSERT_EQ(test, pmdesc_nr_pages(d), 16);
	for (i = 0; i < 16; i++)
		KUNIT_EXPECT_PTR_EQ(test, pmdesc_page(d, i),
				    vmalloc_to_page(buf + i * PAGE_SIZE));
	pmdesc_test_expect_kernel_segments(test, d, buf + 1);
	pmdesc_test_expect_kernel_bytes(test, d, buf + 1, len - 1);
	pmdesc_test_expect_not_copyable(test, d);
}

static void create_kernel_rejects_bad_arguments(struct kunit *test)
{
	u8 *buf = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, buf);
	pmdesc_test_expect_bad_len_flags(test, pmdesc_create_kernel, buf);
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_create_kernel(NULL, PAGE_SIZE, 0),
			    ERR_PTR(-EINVAL));
	/* A user address is neither lowmem nor vmalloc. */
	KUNIT_EXPECT_PTR_EQ(test,
			    pmdesc_create_kernel((void *)pmdesc_test_map_anon(test, 1),
						 PAGE_SIZE, 0),
			    ERR_PTR(-EINVAL));
}

/* A length no page array can hold is an error, not an allocation warning. */
static void create_kernel_huge_length_fails(struct kunit *test)
{
	void *buf = page_address(pmdesc_test_alloc_four_pages(test));

	KUNIT_EXPECT_TRUE(test, IS_ERR(pmdesc_create_kernel(buf, 1ULL << 40,
							    0)));
}

static struct kunit_case pmdesc_create_kernel_cases[] = {
	KUNIT_CASE(create_kernel_lowmem),
	KUNIT_CASE(create_kernel_vmalloc),
	KUNIT_CASE(create_kernel_rejects_bad_arguments),
	KUNIT_CASE(create_kernel_huge_length_fails),
	{}
};

PMDESC_TEST_SUITE(pmdesc_create_kernel);

kunit_test_suites(&pmdesc_create_kernel_suite);
