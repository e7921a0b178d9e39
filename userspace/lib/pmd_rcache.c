// SPDX-License-Identifier: GPL-2.0
/*
 * pmd_rcache: see pmd_rcache.h.
 *
 * The entries live in one array of max_entries slots, allocated up front,
 * so that an event's cookie can name a slot without a pointer the cache may
 * have freed: the cookie is the slot's index and its generation, which
 * moves each time the slot is reused. Lookups go through a hash table of
 * chains of slot indexes keyed by (addr, len); a full cache evicts its least
 * recently used entry.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>

#include "libpmd.h"
#include "pmd_rcache.h"

#define RC_NONE		(-1)
#define RC_FLAGS	(PMD_F_PERSISTENT | PMD_F_DEVICE_READS | \
			 PMD_F_DEVICE_WRITES)
/* Events read per read(): 1 KiB of stack. */
#define RC_EVENTS	64

struct rc_entry {
	__u64 addr;
	__u64 len;
	__u64 sample;		/* the word when the entry was last valid */
	__u32 handle;		/* 0 while the slot is free */
	__u32 status_index;
	__u32 gen;		/* half of the cookie; never 0 once used */
	int hnext;		/* next in the bucket, or in the free list */
	int prev, next;		/* the LRU list, most recent first */
};

struct pmd_rcache {
	int fd;
	int nonblock;		/* @fd was O_NONBLOCK: read without a poll */
	const __u64 *status;
	unsigned int max, nr, mask;
	int *buckets;
	int free;
	int lru_head, lru_tail;
	struct pmd_rcache_stats stats;
	struct rc_entry e[];
};

static unsigned int rc_hash(const struct pmd_rcache *rc, __u64 addr,
			    __u64 len)
{
	__u64 key = (addr >> 12) ^ (addr << 20) ^ (len * 0x9e3779b97f4a7c15ULL);

	return (key * 0x9e3779b97f4a7c15ULL) >> 40 & rc->mask;
}

/* Cookie 0 is what CREATE without a cookie gives: generations start at 1. */
static __u64 rc_cookie(const struct pmd_rcache *rc, int slot)
{
	return (__u64)rc->e[slot].gen << 32 | (__u32)slot;
}

static int rc_find(const struct pmd_rcache *rc, __u64 addr, __u64 len)
{
	int slot = rc->buckets[rc_hash(rc, addr, len)];

	while (slot != RC_NONE &&
	       (rc->e[slot].addr != addr || rc->e[slot].len != len))
		slot = rc->e[slot].hnext;
	return slot;
}

static void rc_hash_add(struct pmd_rcache *rc, int slot)
{
	int *head = &rc->buckets[rc_hash(rc, rc->e[slot].addr,
					 rc->e[slot].len)];

	rc->e[slot].hnext = *head;
	*head = slot;
}

static void rc_hash_del(struct pmd_rcache *rc, int slot)
{
	int *link = &rc->buckets[rc_hash(rc, rc->e[slot].addr,
					 rc->e[slot].len)];

	while (*link != slot)
		link = &rc->e[*link].hnext;
	*link = rc->e[slot].hnext;
}

static void rc_lru_del(struct pmd_rcache *rc, int slot)
{
	struct rc_entry *e = &rc->e[slot];

	if (e->prev == RC_NONE)
		rc->lru_head = e->next;
	else
		rc->e[e->prev].next = e->next;
	if (e->next == RC_NONE)
		rc->lru_tail = e->prev;
	else
		rc->e[e->next].prev = e->prev;
}

static void rc_lru_push(struct pmd_rcache *rc, int slot)
{
	struct rc_entry *e = &rc->e[slot];

	e->prev = RC_NONE;
	e->next = rc->lru_head;
	if (rc->lru_head == RC_NONE)
		rc->lru_tail = slot;
	else
		rc->e[rc->lru_head].prev = slot;
	rc->lru_head = slot;
}

static void rc_slot_free(struct pmd_rcache *rc, int slot)
{
	rc->e[slot].handle = 0;
	rc->e[slot].hnext = rc->free;
	rc->free = slot;
}

/*
 * Release an entry's handle, unpinning its pages. RELEASE of a handle the
 * cache holds cannot fail but for a bug elsewhere (someone else released
 * it), and there is nothing better to do then than to forget it.
 */
static void rc_evict_slot(struct pmd_rcache *rc, int slot)
{
	_pmd_release(rc->fd, rc->e[slot].handle);
	rc_hash_del(rc, slot);
	rc_lru_del(rc, slot);
	rc_slot_free(rc, slot);
	rc->nr--;
	rc->stats.evicted++;
}

/* A free slot with a new generation, evicting the LRU entry if need be. */
static int rc_slot_alloc(struct pmd_rcache *rc)
{
	int slot;

	if (rc->free == RC_NONE)
		rc_evict_slot(rc, rc->lru_tail);
	slot = rc->free;
	rc->free = rc->e[slot].hnext;
	if (!++rc->e[slot].gen)
		rc->e[slot].gen = 1;
	return slot;
}

/*
 * Too many handles (EMFILE) or too much pinned (ENOMEM, RLIMIT_MEMLOCK):
 * the cache's own entries may be what is in the way.
 */
static int rc_should_retry(const struct pmd_rcache *rc, int ret)
{
	return (ret == -EMFILE || ret == -ENOMEM) && rc->nr > 0;
}

/*
 * Sample the word of @e's handle, then COPY it: the word moves for a change
 * racing with the COPY, past the sample, so it is seen at the next lookup.
 * ORIGINAL keeps the sample (and drops the copy's extra reference); FRESH
 * puts the new handle in the old one's place, its word not yet sampled.
 * Return: the COPY's PMD_COPY_* or -errno.
 */
static int rc_copy(struct pmd_rcache *rc, struct rc_entry *e)
{
	__u64 sample = pmd_status_word(rc->status, e->status_index);
	__u32 handle, index;
	int ret;

	ret = _pmd_copy_index(rc->fd, e->handle, &handle, &index);
	if (ret == PMD_COPY_ORIGINAL) {
		_pmd_release(rc->fd, handle);
		e->sample = sample;
	} else if (ret == PMD_COPY_FRESH) {
		_pmd_release(rc->fd, e->handle);
		e->handle = handle;
		e->status_index = index;
	}
	return ret;
}

/* Tries of rc_confirm() before it leaves the entry to the next lookup. */
#define RC_CONFIRM_TRIES 4

/*
 * Sample and confirm the word of @e's handle, new from a CREATE or a fresh
 * COPY, with rc_copy() (O(1) when nothing changed): another thread's
 * munmap while that call ran may have moved the word before any sample.
 * A COPY that is fresh again tries again; after RC_CONFIRM_TRIES the
 * sample is left one behind the word, so that the next lookup revalidates.
 * Return: 0, or the COPY's -errno.
 */
static int rc_confirm(struct pmd_rcache *rc, struct rc_entry *e)
{
	int i, ret;

	for (i = 0; i < RC_CONFIRM_TRIES; i++) {
		ret = rc_copy(rc, e);
		if (ret != PMD_COPY_FRESH)
			return ret < 0 ? ret : 0;
	}
	e->sample = pmd_status_word(rc->status, e->status_index) - 1;
	return 0;
}

/* CREATE a new entry, and confirm its word. */
static int rc_create(struct pmd_rcache *rc, __u64 addr, __u64 len, int *out)
{
	int slot = rc_slot_alloc(rc), ret;
	struct rc_entry *e = &rc->e[slot];

	for (;;) {
		ret = _pmd_create_cookie(rc->fd, (void *)(uintptr_t)addr, len,
					 RC_FLAGS, rc_cookie(rc, slot),
					 &e->handle, &e->status_index);
		if (!rc_should_retry(rc, ret))
			break;
		rc_evict_slot(rc, rc->lru_tail);
	}
	if (!ret) {
		ret = rc_confirm(rc, e);
		if (ret)
			_pmd_release(rc->fd, e->handle);
	}
	if (ret) {
		rc_slot_free(rc, slot);
		return ret;
	}
	e->addr = addr;
	e->len = len;
	rc_hash_add(rc, slot);
	rc_lru_push(rc, slot);
	rc->nr++;
	*out = slot;
	return PMD_RCACHE_MISS_NEW;
}

/*
 * The word of *@slot moved: COPY it (rc_copy()). A fresh handle's word is
 * confirmed as a new entry's is.
 */
static int rc_revalidate(struct pmd_rcache *rc, int *slot)
{
	struct rc_entry *e = &rc->e[*slot];
	__u64 addr = e->addr, len = e->len;
	int ret = rc_copy(rc, e);

	if (ret == PMD_COPY_ORIGINAL)
		return PMD_RCACHE_MISS_ORIGINAL;
	if (ret == PMD_COPY_FRESH && !rc_confirm(rc, e))
		return PMD_RCACHE_MISS_FRESH;
	/* EFAULT (unmapped), EBUSY, EMFILE, ...: start over. */
	rc->stats.copy_errors++;
	rc_evict_slot(rc, *slot);
	return rc_create(rc, addr, len, slot);
}

static void rc_count(struct pmd_rcache *rc, int result)
{
	struct pmd_rcache_stats *st = &rc->stats;

	if (result == PMD_RCACHE_HIT) {
		st->hits++;
		return;
	}
	st->misses++;
	if (result == PMD_RCACHE_MISS_ORIGINAL)
		st->spurious++;
	else if (result == PMD_RCACHE_MISS_FRESH)
		st->fresh++;
	else
		st->new++;
}

int pmd_rcache_get(struct pmd_rcache *rc, const void *addr, size_t len,
		   __u32 *handle)
{
	int slot = rc_find(rc, (uintptr_t)addr, len), ret;

	rc->stats.lookups++;
	if (slot == RC_NONE)
		ret = rc_create(rc, (uintptr_t)addr, len, &slot);
	else if (pmd_status_word(rc->status, rc->e[slot].status_index) ==
		 rc->e[slot].sample)
		ret = PMD_RCACHE_HIT;
	else
		ret = rc_revalidate(rc, &slot);
	if (ret < 0)
		return ret;
	rc_count(rc, ret);
	if (rc->lru_head != slot) {
		rc_lru_del(rc, slot);
		rc_lru_push(rc, slot);
	}
	*handle = rc->e[slot].handle;
	return ret;
}

int pmd_rcache_evict(struct pmd_rcache *rc, const void *addr, size_t len)
{
	int slot = rc_find(rc, (uintptr_t)addr, len);

	if (slot == RC_NONE)
		return 0;
	rc_evict_slot(rc, slot);
	return 1;
}

/*
 * Evict the entry an event names, if it is still the entry and the handle
 * the event was for, and its word moved since its sample: a word equal to
 * the sample was sampled after the move the event reports (the kernel
 * moves the word before it queues the handle), so the entry was
 * revalidated since.
 */
static int rc_event(struct pmd_rcache *rc, const struct pmd_event *ev)
{
	__u32 slot = (__u32)ev->cookie, gen = ev->cookie >> 32;
	struct rc_entry *e = slot < rc->max ? &rc->e[slot] : NULL;

	if (!e || !e->handle || e->gen != gen || e->handle != ev->handle ||
	    pmd_status_word(rc->status, e->status_index) == e->sample) {
		rc->stats.stale_events++;
		return 0;
	}
	rc_evict_slot(rc, slot);
	rc->stats.evicted_events++;
	return 1;
}

/*
 * A blocking file is read only when poll() says a record is pending; as
 * the cache is the file's only user, the record is still there for read().
 */
static int rc_pending(const struct pmd_rcache *rc)
{
	struct pollfd p = { .fd = rc->fd, .events = POLLIN };

	return rc->nonblock || (poll(&p, 1, 0) == 1 && (p.revents & POLLIN));
}

int pmd_rcache_evict_changed(struct pmd_rcache *rc)
{
	struct pmd_event ev[RC_EVENTS];
	int evicted = 0;
	long n, i;

	do {
		if (!rc_pending(rc))
			break;
		n = _pmd_read_events(rc->fd, ev, RC_EVENTS);
		if (n == -EAGAIN)
			break;
		if (n < 0)
			return n;
		for (i = 0; i < n; i++)
			evicted += rc_event(rc, &ev[i]);
	} while (n == RC_EVENTS);
	return evicted;
}

const struct pmd_rcache_stats *pmd_rcache_stats(const struct pmd_rcache *rc)
{
	return &rc->stats;
}

unsigned int pmd_rcache_size(const struct pmd_rcache *rc)
{
	return rc->nr;
}

/* Empty tables: every slot free, every bucket and the LRU list empty. */
static void rc_init(struct pmd_rcache *rc, unsigned int nr_buckets)
{
	unsigned int i;

	for (i = 0; i < nr_buckets; i++)
		rc->buckets[i] = RC_NONE;
	rc->free = RC_NONE;
	for (i = rc->max; i-- > 0;)
		rc_slot_free(rc, i);
	rc->lru_head = RC_NONE;
	rc->lru_tail = RC_NONE;
	rc->mask = nr_buckets - 1;
}

struct pmd_rcache *pmd_rcache_new(int fd, unsigned int max_entries)
{
	unsigned int nr_buckets = 1;
	int flags = fcntl(fd, F_GETFL);
	struct pmd_rcache *rc;

	if (flags < 0)
		return NULL;
	if (!max_entries || max_entries > PMD_STATUS_MAX_WORDS) {
		errno = EINVAL;
		return NULL;
	}
	/* At most two entries a bucket on average, when full. */
	while (nr_buckets < max_entries / 2)
		nr_buckets <<= 1;
	rc = calloc(1, sizeof(*rc) + max_entries * sizeof(rc->e[0]));
	if (!rc)
		return NULL;
	rc->buckets = calloc(nr_buckets, sizeof(*rc->buckets));
	rc->status = rc->buckets ? _pmd_status_map(fd) : NULL;
	if (!rc->status) {
		free(rc->buckets);
		free(rc);
		return NULL;
	}
	rc->fd = fd;
	rc->nonblock = !!(flags & O_NONBLOCK);
	rc->max = max_entries;
	rc_init(rc, nr_buckets);
	return rc;
}

void pmd_rcache_free(struct pmd_rcache *rc)
{
	if (!rc)
		return;
	while (rc->lru_head != RC_NONE)
		rc_evict_slot(rc, rc->lru_head);
	if (rc->status)
		pmd_status_unmap(rc->status);
	free(rc->buckets);
	free(rc);
}
