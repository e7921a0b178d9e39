// SPDX-License-Identifier: GPL-2.0
/*
 * pmd_stress: threads hammer create / copy / release / INFO / READ / WRITE
 * on shared handles while others munmap/mmap, mremap, madvise and mprotect
 * the same buffers and a process forks children that write and exit. Then
 * the file is closed and the invariants are checked: nothing pinned, no
 * locked memory charged, every kind of operation ran. Prints TAP: a check
 * per invariant, the operations done and the errnos seen as comments.
 *
 * usage: pmd_stress [SECONDS [THREADS]]   (default 20 s, 4 threads)
 */
#define _GNU_SOURCE
#include <errno.h>
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

enum op { OP_CREATE, OP_COPY, OP_RELEASE, OP_INFO, OP_READ, OP_WRITE,
	  OP_REMAP, OP_MREMAP, OP_DONTNEED, OP_MPROTECT, OP_FORK, NR_OPS };

static const char *const op_names[NR_OPS] = {
	"create", "copy", "release", "info", "read", "write",
	"remap", "mremap", "dontneed", "mprotect", "fork",
};

static int fd;
static size_t page_size, buf_len;
static char *bufs;		/* NR_BUFS buffers, then as much spare room */
static atomic_uint handles[NR_BUFS];
static atomic_int stop;
static atomic_long done[NR_OPS];
static struct pmd_errnos errnos;

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
	__u32 h = 0, old;
	int ret = _pmd_create(fd, buf(i) + r % page_size,
			      1 + r % (buf_len - page_size), flags, &h);

	count(OP_CREATE, ret);
	if (!ret) {
		old = atomic_exchange(&handles[i], h);
		if (old)
			count(OP_RELEASE, _pmd_release(fd, old));
	}
}

static void do_copy(int i)
{
	__u32 h = handles[i], c = 0, rel;
	int ret = _pmd_copy(fd, h, &c);

	count(OP_COPY, ret < 0 ? ret : 0);
	if (ret < 0)
		return;
	if (ret == PMD_COPY_ORIGINAL) {
		rel = c;
	} else {
		/* Keep the fresh copy; drop the old one if still there. */
		rel = h;
		if (!atomic_compare_exchange_strong(&handles[i], &rel, c))
			rel = c;
	}
	count(OP_RELEASE, _pmd_release(fd, rel));
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

		switch ((r >> 4) % 6) {
		case 0:
			do_create(i, r >> 8);
			break;
		case 1:
			do_copy(i);
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

static void *mm_worker(void *arg)
{
	struct pmd_rng rng;

	pmd_rng_seed(&rng, 1000 + (uintptr_t)arg);
	while (!atomic_load(&stop)) {
		unsigned int r = pmd_rng_next(&rng);
		char *p = buf(r % NR_BUFS), *spare = buf(NR_BUFS + r % NR_BUFS);
		char *q = p + ((r >> 8) % BUF_PAGES) * page_size;

		switch ((r >> 4) % 4) {
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

	pmd_tap_plan(&tap, NR_OPS + 2);
	printf("# pmd_stress: %d s, %d ioctl threads, 2 mm threads, 1 forker\n",
	       seconds, threads);
	for (i = 0; i < threads; i++)
		pthread_create(&tids[n++], NULL, pmd_worker, (void *)(uintptr_t)i);
	for (i = 0; i < 2; i++)
		pthread_create(&tids[n++], NULL, mm_worker, (void *)(uintptr_t)i);
	pthread_create(&tids[n++], NULL, fork_worker, NULL);
	sleep(seconds);
	atomic_store(&stop, 1);
	for (i = 0; i < n; i++)
		pthread_join(tids[i], NULL);
	close(fd);

	/* Every kind of operation ran. */
	for (i = 0; i < NR_OPS; i++) {
		pmd_tap_ok(&tap, done[i] > 0, "%s ran %ld times", op_names[i],
			   atomic_load(&done[i]));
		total += done[i];
	}
	printf("# %ld operations; errnos:", total);
	pmd_errnos_print(stdout, &errnos);
	pmd_tap_no_leaks(&tap, pins_before);
	return pmd_tap_done(&tap);
}
