// SPDX-License-Identifier: GPL-2.0
/*
 * pmd_stress: threads hammer create / copy / COPY_BATCH / release / INFO /
 * READ / WRITE on shared handles while one polls and reads the event queue,
 * others munmap/mmap, mremap, madvise, mprotect and clear the soft-dirty
 * bits of the same buffers, and a process forks children that write and
 * exit. Then the file is closed with events still queued and the
 * invariants are checked: nothing pinned, no locked memory charged, every
 * kind of operation ran, every event named a handle and a buffer's cookie.
 * Prints TAP: a check per invariant, the operations done and the errnos
 * seen as comments.
 *
 * usage: pmd_stress [SECONDS [THREADS]]   (default 20 s, 4 threads)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/libpmd.h"

#define NR_BUFS 8
#define BUF_PAGES 16

enum op { OP_CREATE, OP_COPY, OP_COPY_BATCH, OP_RELEASE, OP_INFO, OP_READ,
	  OP_WRITE, OP_EVENTS, OP_REMAP, OP_MREMAP, OP_DONTNEED, OP_MPROTECT,
	  OP_CLEAR_REFS, OP_FORK, NR_OPS };

static const char *const op_names[NR_OPS] = {
	"create", "copy", "copy_batch", "release", "info", "read", "write",
	"events", "remap", "mremap", "dontneed", "mprotect", "clear_refs",
	"fork",
};

static int fd;
static size_t page_size, buf_len;
static char *bufs;		/* NR_BUFS buffers, then as much spare room */
static atomic_uint handles[NR_BUFS];
static atomic_int stop;
static atomic_long done[NR_OPS];
static struct pmd_errnos errnos;
static atomic_long events, foreign_events;

static void count(enum op op, int ret)
{
	atomic_fetch_add(&done[op], 1);
	pmd_errnos_add(&errnos, ret);
}

static char *buf(int i)
{
	return bufs + i * buf_len;
}

static void do_create(int i, unsigned int r)
{
	__u32 flags = PMD_F_PERSISTENT | PMD_F_DEVICE_READS |
		      (r & 1 ? PMD_F_DEVICE_WRITES : 0);
	__u32 h = 0, index, old;
	int ret = _pmd_create_cookie(fd, buf(i) + r % page_size,
				     1 + r % (buf_len - page_size), flags, i,
				     &h, &index);

	count(OP_CREATE, ret);
	if (!ret) {
		old = atomic_exchange(&handles[i], h);
		if (old)
			count(OP_RELEASE, _pmd_release(fd, old));
	}
}

/*
 * After a COPY of @h into @c with @result: drop the reference the copy
 * took, or keep a fresh copy in place of @h if no other thread replaced it.
 */
static void settle_copy(int i, __u32 h, __u32 c, int result)
{
	__u32 rel;

	if (result < 0)
		return;
	if (result == PMD_COPY_ORIGINAL) {
		rel = c;
	} else {
		/* Keep the fresh copy; drop the old one if still there. */
		rel = h;
		if (!atomic_compare_exchange_strong(&handles[i], &rel, c))
			rel = c;
	}
	count(OP_RELEASE, _pmd_release(fd, rel));
}

static void do_copy(int i)
{
	__u32 h = handles[i], c = 0;
	int ret = _pmd_copy(fd, h, &c);

	count(OP_COPY, ret < 0 ? ret : 0);
	settle_copy(i, h, c, ret);
}

/* One COPY_BATCH of every buffer's handle, twice over. */
static void do_copy_batch(void)
{
	struct pmd_copy_entry e[2 * NR_BUFS] = {};
	int i, ret;

	for (i = 0; i < 2 * NR_BUFS; i++)
		e[i].handle = handles[i % NR_BUFS];
	ret = _pmd_copy_batch(fd, e, 2 * NR_BUFS);
	count(OP_COPY_BATCH, ret);
	if (ret)
		return;
	for (i = 0; i < 2 * NR_BUFS; i++) {
		pmd_errnos_add(&errnos, e[i].result < 0 ? e[i].result : 0);
		settle_copy(i % NR_BUFS, e[i].handle, e[i].new_handle,
			    e[i].result);
	}
}

static void do_rw(int i, unsigned int r, int write)
{
	__u64 offset = r % buf_len, len;
	char data[256];

	r >>= 8;
	len = 1 + r % sizeof(data);
	memset(data, r, sizeof(data));
	if (write)
		count(OP_WRITE, _pmd_write(fd, handles[i], offset, data, len));
	else
		count(OP_READ, _pmd_read(fd, handles[i], offset, data, len));
}

static void *pmd_worker(void *arg)
{
	struct pmd_rng rng;

	pmd_rng_seed(&rng, 1 + (uintptr_t)arg);
	while (!atomic_load(&stop)) {
		unsigned int r = pmd_rng_next(&rng);
		int i = r % NR_BUFS;
		struct pmd_info info;

		switch ((r >> 4) % 7) {
		case 0:
			do_create(i, r >> 8);
			break;
		case 1:
			do_copy(i);
			break;
		case 6:
			do_copy_batch();
			break;
		case 2:
			count(OP_RELEASE, _pmd_release(fd, atomic_exchange(&handles[i], 0)));
			break;
		case 3:
			count(OP_INFO, _pmd_info(fd, handles[i], &info));
			break;
		default:
			do_rw(i, r >> 8, r & 1);
			break;
		}
	}
	return NULL;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/*
 * Write-fault memory in without storing to it: another thread may have made
 * it read-only or moved it away, which must give an errno, not a SIGSEGV.
 */
static int populate(char *p, size_t len)
{
	return madvise(p, len, MADV_POPULATE_WRITE) ? -errno : 0;
}

static int map_fixed(char *p, size_t len)
{
	return mmap(p, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == p ?
	       0 : -errno;
}

/*
 * Drain the event queue whenever poll() says it is readable. Every record
 * must name a handle (not 0), carry no flags and the cookie of a buffer
 * (do_create() gives its index; copies inherit it).
 */
static void *event_worker(void *arg)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct pmd_event ev[64];
	struct pmd_rng rng;
	long n, i;

	pmd_rng_seed(&rng, 2000 + (uintptr_t)arg);
	while (!atomic_load(&stop)) {
		if (poll(&pfd, 1, 10) <= 0)
			continue;
		/* Short reads too: the rest must stay queued. */
		n = _pmd_read_events(fd, ev, 1 + pmd_rng_next(&rng) % 64);
		count(OP_EVENTS, n < 0 && n != -EAGAIN ? n : 0);
		for (i = 0; i < n; i++)
			if (!ev[i].handle || ev[i].cookie >= NR_BUFS ||
			    ev[i].flags)
				atomic_fetch_add(&foreign_events, 1);
		if (n > 0)
			atomic_fetch_add(&events, n);
		usleep(5000);
	}
	return NULL;
}

static void *mm_worker(void *arg)
{
	struct pmd_rng rng;

	pmd_rng_seed(&rng, 1000 + (uintptr_t)arg);
	while (!atomic_load(&stop)) {
		unsigned int r = pmd_rng_next(&rng);
		char *p = buf(r % NR_BUFS), *spare = buf(NR_BUFS + r % NR_BUFS);
		char *q = p + ((r >> 8) % BUF_PAGES) * page_size;

		switch ((r >> 4) % 5) {
		case 4:
			/* Soft-dirty clearing write-protects every pte. */
			count(OP_CLEAR_REFS, pmd_write_file("/proc/self/clear_refs",
							    "4", 0));
			break;
		case 0:
			count(OP_REMAP, map_fixed(p, buf_len) ?:
					populate(p, buf_len / 2));
			break;
		case 1:
			/* Move the memory away and bring it back. */
			if (mremap(p, buf_len, buf_len, MREMAP_MAYMOVE |
				   MREMAP_FIXED, spare) == MAP_FAILED ||
			    mremap(spare, buf_len, buf_len, MREMAP_MAYMOVE |
				   MREMAP_FIXED, p) == MAP_FAILED)
				count(OP_MREMAP, -errno);
			else
				count(OP_MREMAP, 0);
			break;
		case 2:
			count(OP_DONTNEED, madvise(q, page_size,
						   MADV_DONTNEED) ? -errno :
					   populate(q, page_size));
			break;
		default:
			count(OP_MPROTECT, mprotect(p, buf_len, PROT_READ) ||
			      mprotect(p, buf_len, PROT_READ | PROT_WRITE) ?
			      -errno : 0);
			break;
		}
	}
	return NULL;
}

static void *fork_worker(void *arg)
{
	while (!atomic_load(&stop)) {
		pid_t pid = fork();

		if (!pid)
			_exit(populate(buf(0), NR_BUFS * buf_len) ? 1 : 0);
		count(OP_FORK, pid < 0 ? -errno : 0);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		usleep(10000);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int seconds = argc > 1 ? atoi(argv[1]) : 20;
	int threads = argc > 2 ? atoi(argv[2]) : 4;
	pthread_t tids[64];
	struct pmd_tap tap;
	long pins_before, total = 0;
	int i, n = 0;

	page_size = sysconf(_SC_PAGESIZE);
	buf_len = BUF_PAGES * page_size;
	if (threads < 1 || threads > 60)
		threads = 4;
	bufs = mmap(NULL, 2 * NR_BUFS * buf_len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (bufs == MAP_FAILED)
		pmd_die("mmap");
	memset(bufs, 1, NR_BUFS * buf_len);
	pins_before = pmd_pins_held();
	fd = pmd_open();
	/* A RELEASE may drop the record poll() saw: read() must not block. */
	if (fcntl(fd, F_SETFL, O_NONBLOCK))
		pmd_die("fcntl");

	pmd_tap_plan(&tap, NR_OPS + 3);
	printf("# pmd_stress: %d s, %d ioctl threads, 1 event reader, 2 mm threads, 1 forker\n",
	       seconds, threads);
	pthread_create(&tids[n++], NULL, event_worker, NULL);
	for (i = 0; i < threads; i++)
		pthread_create(&tids[n++], NULL, pmd_worker, (void *)(uintptr_t)i);
	for (i = 0; i < 2; i++)
		pthread_create(&tids[n++], NULL, mm_worker, (void *)(uintptr_t)i);
	pthread_create(&tids[n++], NULL, fork_worker, NULL);
	sleep(seconds);
	atomic_store(&stop, 1);
	for (i = 0; i < n; i++)
		pthread_join(tids[i], NULL);
	/* The mm threads' last changes stay queued: close must free them. */
	close(fd);

	/* Every kind of operation ran. */
	for (i = 0; i < NR_OPS; i++) {
		pmd_tap_ok(&tap, done[i] > 0, "%s ran %ld times", op_names[i],
			   atomic_load(&done[i]));
		total += done[i];
	}
	printf("# %ld operations; errnos:", total);
	pmd_errnos_print(stdout, &errnos);
	pmd_tap_ok(&tap, !foreign_events,
		   "%ld events read, %ld malformed (no handle, flags, a cookie of no buffer)",
		   atomic_load(&events), atomic_load(&foreign_events));
	pmd_tap_no_leaks(&tap, pins_before);
	return pmd_tap_done(&tap);
}
