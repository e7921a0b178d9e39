// SPDX-License-Identifier: GPL-2.0
/*
 * A walk through /dev/pmd for newcomers: create a persistent descriptor,
 * copy it while nothing changed (the original comes back), remap the buffer,
 * copy again (a fresh descriptor), and show what each one sees. Then what
 * the module saw: its pmdesc trace events and its debugfs counters.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../uapi/pmd.h"
#include "pmd_util.h"

static int fd;

static void die(const char *what)
{
	fprintf(stderr, "pmd_demo: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void step(int n, const char *what)
{
	printf("\n%d. %s\n", n, what);
}

static void show(const char *name, __u32 handle)
{
	struct pmd_info info = { .size = sizeof(info), .handle = handle };
	char text[32] = "";
	struct pmd_rw rw = {
		.size = sizeof(rw),
		.handle = handle,
		.buf = (uintptr_t)text,
		.len = sizeof(text) - 1,
	};

	if (ioctl(fd, PMD_IOC_INFO, &info) || ioctl(fd, PMD_IOC_READ, &rw))
		die("INFO/READ");
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
	struct pmd_copy c = { .size = sizeof(c), .handle = handle };

	if (ioctl(fd, PMD_IOC_COPY, &c))
		die("COPY");
	printf("   COPY of handle %u -> %s, handle %u\n", handle,
	       c.result == PMD_COPY_ORIGINAL ?
	       "PMD_COPY_ORIGINAL (same pages: the original, one more reference)" :
	       "PMD_COPY_FRESH (the memory changed: a new descriptor)",
	       c.new_handle);
	return c.new_handle;
}

static void release(__u32 handle)
{
	struct pmd_release r = { .size = sizeof(r), .handle = handle };

	if (ioctl(fd, PMD_IOC_RELEASE, &r))
		die("RELEASE");
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
	struct pmd_create c = { .size = sizeof(c) };
	struct pmd_range r;
	__u32 orig, same, fresh;
	int tracing;
	char *buf;

	printf("pmd demo: IOKit's withPersistentMemoryDescriptor() on Linux\n");
	tracing = !pmd_trace_set(1);
	fd = open("/dev/pmd", O_RDWR);
	if (fd < 0)
		die("open /dev/pmd");
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		die("mmap");
	snprintf(buf, len, "hello from the first mapping");

	step(1, "CREATE a persistent descriptor over an 8 KiB buffer: the kernel pins its pages");
	r.addr = (uintptr_t)buf;
	r.len = len;
	c.flags = PMD_F_PERSISTENT | PMD_F_DEVICE_READS | PMD_F_DEVICE_WRITES;
	c.ranges = (uintptr_t)&r;
	c.nr_ranges = 1;
	if (ioctl(fd, PMD_IOC_CREATE, &c))
		die("CREATE");
	orig = c.handle;
	show("original", orig);

	step(2, "COPY it while nothing changed: the same pages still back the buffer");
	same = copy(orig);
	show("original", orig);

	step(3, "The program frees the buffer and maps new memory at the same address");
	if (munmap(buf, len) ||
	    mmap(buf, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != buf)
		die("remap");
	snprintf(buf, len, "hello from the new mapping");
	printf("   the buffer now reads \"%s\"\n", buf);

	step(4, "COPY again: the kernel re-walks the range and finds other pages");
	fresh = copy(orig);
	show("original", orig);
	show("fresh", fresh);
	printf("   the original still holds the old pages, so a device using it is safe\n");

	step(5, "RELEASE every reference; closing the file would do the same");
	release(same);
	release(orig);
	release(fresh);
	close(fd);
	printf("   done: nothing is pinned any more\n");

	step(6, "What the module saw");
	show_observability(tracing);
	return 0;
}
