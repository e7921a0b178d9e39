// SPDX-License-Identifier: GPL-2.0
/*
 * A walk through /dev/pmd for newcomers: create a persistent descriptor,
 * copy it while nothing changed (the original comes back), remap the buffer,
 * copy again (a fresh descriptor), and show what each one sees. Then what
 * the module saw: its pmdesc trace events and its debugfs counters. Last, a
 * registration cache built on it (lib/pmd_rcache.h): hits cost one load,
 * mprotect leaves them hits, a remap makes a miss, the event queue evicts.
 *
 * Exits 1 when something did not go as the walk says.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/libpmd.h"
#include "lib/pmd_rcache.h"

static int fd;

static void step(int n, const char *what)
{
	printf("\n%d. %s\n", n, what);
}

static void show(const char *name, __u32 handle)
{
	struct pmd_info info = pmd_info(fd, handle);
	char text[32] = "";

	pmd_read(fd, handle, 0, text, sizeof(text) - 1);
	printf("   %-9s handle %u: descriptor id %llu, %llu bytes on %llu pages,",
	       name, handle, (unsigned long long)info.id,
	       (unsigned long long)info.length,
	       (unsigned long long)info.nr_pages);
	printf(" %u reference(s), reads \"%s\"\n", info.refs, text);
}

/* The event lines of a trace buffer, without its header and task columns. */
static void print_trace_events(const char *text)
{
	const char *line, *event, *end;

	for (line = text; *line; line = *end ? end + 1 : end) {
		end = strchrnul(line, '\n');
		event = strstr(line, " pmdesc_");
		if (*line != '#' && event && event < end)
			printf("     %.*s\n", (int)(end - event - 1), event + 1);
	}
}

static __u32 copy(__u32 handle)
{
	__u32 new_handle = 0;
	int result = pmd_copy(fd, handle, &new_handle);

	printf("   COPY of handle %u -> %s, handle %u\n", handle,
	       result == PMD_COPY_ORIGINAL ?
	       "PMD_COPY_ORIGINAL (same pages: the original, one more reference)" :
	       "PMD_COPY_FRESH (the memory changed: a new descriptor)",
	       new_handle);
	return new_handle;
}

/* The trace events the demo caused, and the module's counters. */
static void show_observability(int tracing)
{
	struct pmd_stats st;
	char *text;

	text = tracing ? pmd_trace_read() : NULL;
	if (text) {
		printf("   trace events (%s/trace):\n", PMD_TRACING);
		print_trace_events(text);
		free(text);
	} else {
		printf("   (no tracefs: no trace events to show)\n");
	}
	pmd_trace_set(0);
	if (pmd_stats_read(&st)) {
		printf("   (no %s)\n", PMD_STATS_PATH);
		return;
	}
	printf("   counters (%s):\n", PMD_STATS_PATH);
	printf("     descriptors_live %ld, pages_pinned %ld\n", st.live,
	       st.pinned);
	printf("     copies: original %ld (fast path %ld), fresh %ld, error %ld\n",
	       st.original, st.fast, st.fresh, st.error);
}

static const char *const rcache_results[] = {
	[PMD_RCACHE_HIT] = "HIT (its status word had not moved: no syscall)",
	[PMD_RCACHE_MISS_ORIGINAL] = "MISS_ORIGINAL (the word moved, COPY found the same pages)",
	[PMD_RCACHE_MISS_FRESH] = "MISS_FRESH (the word moved, COPY gave a new descriptor)",
	[PMD_RCACHE_MISS_NEW] = "MISS_NEW (not cached: CREATE)",
};

/* One lookup, shown; 1 if it was not @want. */
static int rcache_lookup(struct pmd_rcache *rc, const char *name, void *buf,
			 size_t len, int want)
{
	int ret;
	__u32 h;

	ret = pmd_rcache_get(rc, buf, len, &h);
	if (ret < 0) {
		errno = -ret;
		pmd_die("pmd_rcache_get");
		return 1;
	}
	printf("   lookup of %s -> handle %u, %s\n", name, h,
	       rcache_results[ret]);
	if (ret == want)
		return 0;
	printf("   UNEXPECTED: not %s\n", rcache_results[want]);
	return 1;
}

static char *map_touched(size_t len, const char *text)
{
	char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (buf == MAP_FAILED)
		pmd_die("mmap");
	snprintf(buf, len, "%s", text);
	return buf;
}

/* The cache's counters; 1 if they are not what the scene did. */
static int rcache_counters(const struct pmd_rcache *rc)
{
	const struct pmd_rcache_stats *st = pmd_rcache_stats(rc);

	printf("   counters: %lu lookups, %lu hits, %lu misses ", st->lookups,
	       st->hits, st->misses);
	printf("(%lu spurious, %lu fresh, %lu new), %lu evicted (%lu by events)\n",
	       st->spurious, st->fresh, st->new, st->evicted,
	       st->evicted_events);
	return st->hits != 2 || st->fresh != 1 || st->new != 3 ||
	       st->spurious || st->evicted_events != 1;
}

/* A registration cache over two buffers, A and B; the failures it saw. */
static int rcache_scene(size_t len)
{
	char *a = map_touched(len, "A"), *b = map_touched(len, "B");
	int rfd = open("/dev/pmd", O_RDWR | O_NONBLOCK), bad = 0, n;
	struct pmd_rcache *rc;

	if (rfd < 0)
		pmd_die("open /dev/pmd");
	rc = pmd_rcache_new(rfd, 16);
	if (!rc)
		pmd_die("pmd_rcache_new");
	bad += rcache_lookup(rc, "A", a, len, PMD_RCACHE_MISS_NEW);
	bad += rcache_lookup(rc, "A", a, len, PMD_RCACHE_HIT);
	printf("   mprotect(A, PROT_READ) and back: protection only, no page can change\n");
	if (mprotect(a, len, PROT_READ) ||
	    mprotect(a, len, PROT_READ | PROT_WRITE))
		pmd_die("mprotect");
	bad += rcache_lookup(rc, "A", a, len, PMD_RCACHE_HIT);
	printf("   A freed and new memory mapped at its address\n");
	pmd_check(pmd_remap(a, len), "remap");
	bad += rcache_lookup(rc, "A", a, len, PMD_RCACHE_MISS_FRESH);
	bad += rcache_lookup(rc, "B", b, len, PMD_RCACHE_MISS_NEW);
	printf("   B remapped too, and not looked up: the event queue names it\n");
	pmd_check(pmd_remap(b, len), "remap");
	n = pmd_rcache_evict_changed(rc);
	printf("   pmd_rcache_evict_changed() -> %d evicted (B's old pages unpinned),",
	       n);
	printf(" entries left: %u\n", pmd_rcache_size(rc));
	bad += n != 1;
	bad += rcache_lookup(rc, "B", b, len, PMD_RCACHE_MISS_NEW);
	bad += rcache_counters(rc);
	pmd_rcache_free(rc);
	close(rfd);
	munmap(a, len);
	munmap(b, len);
	return bad;
}

int main(void)
{
	size_t len = 2 * sysconf(_SC_PAGESIZE);
	__u32 orig, same, fresh;
	int tracing;
	char *buf;

	printf("pmd demo: IOKit's withPersistentMemoryDescriptor() on Linux\n");
	tracing = !pmd_trace_set(1);
	fd = pmd_open();
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		pmd_die("mmap");
	snprintf(buf, len, "hello from the first mapping");

	step(1, "CREATE a persistent descriptor over an 8 KiB buffer: the kernel pins its pages");
	orig = pmd_create(fd, buf, len, PMD_F_PERSISTENT | PMD_F_DEVICE_READS |
			  PMD_F_DEVICE_WRITES);
	show("original", orig);

	step(2, "COPY it while nothing changed: the same pages still back the buffer");
	same = copy(orig);
	show("original", orig);

	step(3, "The program frees the buffer and maps new memory at the same address");
	pmd_check(pmd_remap(buf, len), "remap");
	snprintf(buf, len, "hello from the new mapping");
	printf("   the buffer now reads \"%s\"\n", buf);

	step(4, "COPY again: the kernel re-walks the range and finds other pages");
	fresh = copy(orig);
	show("original", orig);
	show("fresh", fresh);
	printf("   the original still holds the old pages, so a device using it is safe\n");

	step(5, "RELEASE every reference; closing the file would do the same");
	pmd_release(fd, same);
	pmd_release(fd, orig);
	pmd_release(fd, fresh);
	close(fd);
	printf("   done: nothing is pinned any more\n");

	step(6, "What the module saw");
	show_observability(tracing);

	step(7, "A registration cache on top: pmd_rcache (status words and events)");
	if (rcache_scene(len)) {
		printf("\n   the cache did not behave as described\n");
		return 1;
	}
	printf("   done: the cache released everything\n");
	return 0;
}
