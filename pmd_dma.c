// SPDX-License-Identifier: GPL-2.0
/*
 * pmdesc: a descriptor's memory as bytes, physical segments and
 * scatterlists, through one byte cursor. For a user descriptor this is the
 * memory it pinned, not whatever its ranges map now.
 */
#include <linux/export.h>
#include <linux/highmem.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/scatterlist.h>

#include "pmd_internal.h"

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
