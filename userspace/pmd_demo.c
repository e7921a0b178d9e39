// SPDX-License-Identifier: GPL-2.0
/*
 * A walk through /dev/pmd for newcomers: create a persistent descriptor,
 * copy it while nothing changed (the original comes back), remap the buffer,
 * copy again (a fresh descriptor), and show what each one sees. Then what
 * the module saw: its pmdesc trace events and its debugfs counters.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/libpmd.h"

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
	return 0;
}
