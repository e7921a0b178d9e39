// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of pmdesc_sg_table(): the scatterlist of a descriptor's
 * physical segments, split at the device's maximum, and its DMA mapping.
 */
#include <kunit/device.h>
#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/device.h>
#include <linux/dma-mapping.h>
#include <linux/limits.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include "pmd_kunit_util.h"

KUNIT_DEFINE_ACTION_WRAPPER(pmdesc_test_sg_free_table_action, sg_free_table,
			    struct sg_table *);

/* Build @d's scatterlist, freed when the test ends. */
static struct sg_table *pmdesc_test_sg_table(struct kunit *test,
					     struct pmdesc *d,
					     unsigned int max_segment)
{
	struct sg_table *sgt = kunit_kzalloc(test, sizeof(*sgt), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, sgt);
	KUNIT_ASSERT_EQ(test, pmdesc_sg_table(d, sgt, max_segment, GFP_KERNEL),
			0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							pmdesc_test_sg_free_table_action,
							sgt), 0);
	return sgt;
}

/*
 * Expect @sgt to be @d cut into the runs of pmdesc_phys_segment(), split at
 * @max_segment bytes: each entry starts where the run at its offset does
 * and is as long as the run, or @max_segment; an entry that stops short of
 * @max_segment is not followed by the next physical address.
 */
static void pmdesc_test_expect_runs(struct kunit *test, struct pmdesc *d,
				    struct sg_table *sgt,
				    unsigned int max_segment)
{
	unsigned int i, last = UINT_MAX;
	struct scatterlist *sg;
	size_t offset = 0, run;
	phys_addr_t end = 0;

	for_each_sgtable_sg(sgt, sg, i) {
		KUNIT_EXPECT_EQ(test, sg_phys(sg),
				pmdesc_phys_segment(d, offset, &run));
		KUNIT_EXPECT_EQ(test, sg->length, min_t(size_t, run, max_segment));
		if (last < max_segment)
			KUNIT_EXPECT_NE(test, sg_phys(sg), end);
		end = sg_phys(sg) + sg->length;
		last = sg->length;
		offset += sg->length;
	}
	KUNIT_EXPECT_EQ(test, offset, pmdesc_length(d));
}

/* One contiguous range: one entry, or entries of @max_segment bytes. */
static void sg_table_coalesces_and_splits(struct kunit *test)
{
	struct page *page = pmdesc_test_alloc_four_pages(test);
	size_t len = 4 * PAGE_SIZE - 20;
	struct pmdesc *d;
	struct sg_table *sgt, bad;

	d = pmdesc_test_hold(test, pmdesc_create_kernel(page_address(page) + 10,
							len,
							PMD_F_DEVICE_READS));
	sgt = pmdesc_test_sg_table(test, d, UINT_MAX);
	KUNIT_ASSERT_EQ(test, sgt->orig_nents, 1);
	KUNIT_EXPECT_PTR_EQ(test, sg_page(sgt->sgl), page);
	KUNIT_EXPECT_EQ(test, sgt->sgl->offset, 10);
	KUNIT_EXPECT_EQ(test, sgt->sgl->length, len);

	sgt = pmdesc_test_sg_table(test, d, PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, sgt->orig_nents, 4);
	pmdesc_test_expect_runs(test, d, sgt, PAGE_SIZE);
	/* Rounded down to two pages. */
	sgt = pmdesc_test_sg_table(test, d, 3 * PAGE_SIZE - 1);
	KUNIT_EXPECT_EQ(test, sgt->orig_nents, 2);
	pmdesc_test_expect_runs(test, d, sgt, 2 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, pmdesc_sg_table(d, &bad, PAGE_SIZE - 1,
					      GFP_KERNEL), -EINVAL);
}

/* User ranges: the pinned pages, in order, in maximal runs. */
static void sg_table_of_user_ranges(struct kunit *test)
{
	unsigned long uaddr = pmdesc_test_map_anon(test, 8);
	struct pmd_range r[] = {
		{ .addr = uaddr + 3 * PAGE_SIZE + 100, .len = 4 * PAGE_SIZE },
		{ .addr = uaddr + 5, .len = 2 * PAGE_SIZE },
	};
	struct sg_table *sgt;
	struct pmdesc *d;
	size_t len;
	u8 *want, *got;

	d = pmdesc_test_create_ranges(test, r, ARRAY_SIZE(r),
				      PMD_F_DEVICE_READS);
	len = pmdesc_length(d);
	sgt = pmdesc_test_sg_table(test, d, UINT_MAX);
	pmdesc_test_expect_runs(test, d, sgt, UINT_MAX);
	want = kunit_kmalloc(test, len, GFP_KERNEL);
	got = kunit_kmalloc(test, len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, want);
	KUNIT_ASSERT_NOT_NULL(test, got);
	KUNIT_ASSERT_EQ(test, pmdesc_read_bytes(d, 0, want, len), 0);
	KUNIT_ASSERT_EQ(test, sg_copy_to_buffer(sgt->sgl, sgt->orig_nents, got,
						len), len);
	KUNIT_EXPECT_MEMEQ(test, got, want, len);
}

/* The table maps for DMA as it is: one DMA segment per entry or fewer. */
static void sg_table_maps_for_dma(struct kunit *test)
{
	struct page *page;
	struct scatterlist *sg;
	struct sg_table *sgt;
	struct device *dev;
	size_t mapped = 0;
	struct pmdesc *d;
	unsigned int i;

	if (!IS_ENABLED(CONFIG_HAS_DMA))
		kunit_skip(test, "no CONFIG_HAS_DMA");
	page = pmdesc_test_alloc_four_pages(test);
	dev = kunit_device_register(test, "pmdesc-dma");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	dev->dma_mask = &dev->coherent_dma_mask;
	KUNIT_ASSERT_EQ(test, dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64)),
			0);
	d = pmdesc_test_hold(test, pmdesc_create_kernel(page_address(page),
							4 * PAGE_SIZE,
							PMD_F_DEVICE_WRITES));
	sgt = pmdesc_test_sg_table(test, d, PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, dma_map_sgtable(dev, sgt, DMA_FROM_DEVICE, 0), 0);
	KUNIT_EXPECT_GE(test, sgt->nents, 1);
	for_each_sgtable_dma_sg(sgt, sg, i)
		mapped += sg_dma_len(sg);
	KUNIT_EXPECT_EQ(test, mapped, 4 * PAGE_SIZE);
	dma_unmap_sgtable(dev, sgt, DMA_FROM_DEVICE, 0);
}

/* Ranges over transparent huge pages: segments of a huge page each. */
static void sg_table_thp_gives_huge_segments(struct kunit *test)
{
	unsigned long uaddr, huge;
	struct scatterlist *sg;
	struct sg_table *sgt;
	struct pmdesc *d;
	unsigned int i;
	size_t len;

	pmdesc_test_need_thp(test);
	uaddr = pmdesc_test_map_user(test, NULL, 0, 3 * HPAGE_PMD_SIZE,
				     PROT_READ | PROT_WRITE,
				     MAP_ANONYMOUS | MAP_PRIVATE);
	huge = ALIGN(uaddr, HPAGE_PMD_SIZE);
	pmdesc_test_fill_user(test, huge, 2 * HPAGE_PMD_SIZE, 4);
	d = pmdesc_test_create_one(test, huge, 2 * HPAGE_PMD_SIZE,
				   PMD_F_DEVICE_READS);
	KUNIT_ASSERT_TRUE_MSG(test, folio_test_large(page_folio(pmdesc_page(d, 0))),
			      "boot with transparent_hugepage=always");
	KUNIT_EXPECT_TRUE(test, IS_ALIGNED(pmdesc_phys_segment(d, 0, &len),
					   HPAGE_PMD_SIZE));
	KUNIT_EXPECT_GE(test, len, HPAGE_PMD_SIZE);
	sgt = pmdesc_test_sg_table(test, d, HPAGE_PMD_SIZE);
	KUNIT_EXPECT_EQ(test, sgt->orig_nents, 2);
	for_each_sgtable_sg(sgt, sg, i) {
		KUNIT_EXPECT_EQ(test, sg->length, HPAGE_PMD_SIZE);
		KUNIT_EXPECT_TRUE(test, IS_ALIGNED(sg_phys(sg), HPAGE_PMD_SIZE));
	}
}

static struct kunit_case pmdesc_sg_table_cases[] = {
	KUNIT_CASE(sg_table_coalesces_and_splits),
	KUNIT_CASE(sg_table_of_user_ranges),
	KUNIT_CASE(sg_table_maps_for_dma),
	KUNIT_CASE(sg_table_thp_gives_huge_segments),
	{}
};

PMDESC_TEST_SUITE(pmdesc_sg_table);

kunit_test_suites(&pmdesc_sg_table_suite);
