// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of pmdesc_create_phys(): descriptors of online page frames
 * of System RAM, and what is refused.
 */
#include <kunit/test.h>
#include <linux/err.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/memory_hotplug.h>
#include <linux/mm.h>

#include "pmd_kunit_util.h"

/*
 * Four pages for a physical descriptor, which takes System RAM of the
 * resource tree only; UML registers none, the test is skipped there.
 */
static struct page *pmdesc_test_alloc_four_ram_pages(struct kunit *test)
{
	struct page *page = pmdesc_test_alloc_four_pages(test);

	if (region_intersects(page_to_phys(page), 4 * PAGE_SIZE,
			      IORESOURCE_SYSTEM_RAM, IORES_DESC_NONE) !=
	    REGION_INTERSECTS)
		kunit_skip(test, "no System RAM in the resource tree");
	return page;
}

/* A physical range: its page frames, one segment, not copyable. */
static void create_phys_describes_page_frames(struct kunit *test)
{
	struct page *page = pmdesc_test_alloc_four_ram_pages(test);
	phys_addr_t pa = page_to_phys(page) + 10;
	size_t len = 4 * PAGE_SIZE - 20, seg;
	struct pmdesc *d;
	unsigned long i;

	pmdesc_test_fill_kernel(page_address(page), 4 * PAGE_SIZE, 3);
	d = pmdesc_test_hold(test, pmdesc_create_phys(pa, len, PMDESC_RW));
	KUNIT_ASSERT_EQ(test, pmdesc_nr_pages(d), 4);
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_PTR_EQ(test, pmdesc_page(d, i), page + i);
	KUNIT_EXPECT_EQ(test, pmdesc_phys_segment(d, 0, &seg), pa);
	KUNIT_EXPECT_EQ(test, seg, len);
	KUNIT_EXPECT_EQ(test, pmdesc_phys_segment(d, len - 1, &seg),
			pa + len - 1);
	KUNIT_EXPECT_EQ(test, seg, 1);
	KUNIT_EXPECT_EQ(test, pmdesc_phys_segment(d, len, &seg), 0);
	KUNIT_EXPECT_EQ(test, seg, 0);
	pmdesc_test_expect_kernel_bytes(test, d,
					(u8 *)page_address(page) + 10, len);
	pmdesc_test_expect_not_copyable(test, d);
}

/* pmdesc_create_phys() of the lowmem at @kaddr. */
static struct pmdesc *pmdesc_test_create_phys_of(const void *kaddr,
						 size_t len, u32 flags)
{
	return pmdesc_create_phys(__pa(kaddr), len, flags);
}

static void create_phys_rejects_bad_arguments(struct kunit *test)
{
	struct page *page = pmdesc_test_alloc_four_ram_pages(test);
	phys_addr_t pa = page_to_phys(page);

	pmdesc_test_expect_bad_len_flags(test, pmdesc_test_create_phys_of,
					 page_address(page));
	/* The last page frames there are: not memory on any test machine. */
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_create_phys(ALIGN_DOWN(PHYS_ADDR_MAX,
								PAGE_SIZE) -
						     PAGE_SIZE, PAGE_SIZE, 0),
			    ERR_PTR(-EINVAL));
	/* RAM, then a tebibyte that is not: refused before any allocation. */
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_create_phys(pa, 1ULL << 40, 0),
			    ERR_PTR(-EINVAL));
}

/*
 * Page frames that have online struct pages but are not System RAM: the
 * legacy VGA hole at 0xa0000 of a PC is in the first memory section.
 */
static void create_phys_rejects_holes(struct kunit *test)
{
	const phys_addr_t hole = 0xa0000;

	if (!IS_ENABLED(CONFIG_X86) || !pfn_to_online_page(PHYS_PFN(hole)))
		kunit_skip(test, "no PC memory map");
	KUNIT_EXPECT_NE(test, region_intersects(hole, PAGE_SIZE,
						IORESOURCE_SYSTEM_RAM,
						IORES_DESC_NONE),
			REGION_INTERSECTS);
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_create_phys(hole, PAGE_SIZE, 0),
			    ERR_PTR(-EINVAL));
}

static struct kunit_case pmdesc_create_phys_cases[] = {
	KUNIT_CASE(create_phys_describes_page_frames),
	KUNIT_CASE(create_phys_rejects_bad_arguments),
	KUNIT_CASE(create_phys_rejects_holes),
	{}
};

PMDESC_TEST_SUITE(pmdesc_create_phys);

kunit_test_suites(&pmdesc_create_phys_suite);
