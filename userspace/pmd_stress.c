// SPDX-License-Identifier: GPL-2.0
/*
 * pmd_stress: threads hammer create / copy / release / INFO / READ / WRITE
 * on shared handles while others munmap/mmap, mremap, madvise and mprotect
 * the same buffers and a process forks children that write and exit. Then
 * the file is closed and the invariants are checked: nothing pinned, no
 * locked memory charged. Prints the operations done and the errnos seen.
 *
 * usage: pmd_stress [SECONDS [THREADS]]   (default 20 s, 4 threads)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../uapi/pmd.h"
#include "pmd_util.h"

#define NR_BUFS 8
#define BUF_PAGES 16
#define MAX_ERRNO 134

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
static atomic_long done[NR_OPS], errnos[MAX_ERRNO + 1];

static unsigned int next_rand(unsigned int *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

static void count(enum op op, int ret)
{
	atomic_fetch_add(&done[op], 1);
	if (ret < 0 && -ret <= MAX_ERRNO)
		atomic_fetch_add(&errnos[-ret], 1);
}

static int pmd_ioctl(unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static char *buf(int i)
{
	return bufs + i * buf_len;
}

static void do_create(int i, unsigned int r)
{
	struct pmd_range range = {
		.addr = (uintptr_t)buf(i) + r % page_size,
		.len = 1 + r % (buf_len - page_size),
	};
	struct pmd_create c = {
		.size = sizeof(c),
		.flags = PMD_F_PERSISTENT | PMD_F_DEVICE_READS |
			 (r & 1 ? PMD_F_DEVICE_WRITES : 0),
		.ranges = (uintptr_t)&range,
		.nr_ranges = 1,
	};
	struct pmd_release rel = { .size = sizeof(rel) };
	int ret = pmd_ioctl(PMD_IOC_CREATE, &c);

	count(OP_CREATE, ret);
	if (!ret) {
		rel.handle = atomic_exchange(&handles[i], c.handle);
		if (rel.handle)
			count(OP_RELEASE, pmd_ioctl(PMD_IOC_RELEASE, &rel));
	}
}

static void do_copy(int i)
{
	struct pmd_copy c = { .size = sizeof(c), .handle = handles[i] };
	struct pmd_release rel = { .size = sizeof(rel) };
	int ret = pmd_ioctl(PMD_IOC_COPY, &c);

	count(OP_COPY, ret);
	if (ret)
		return;
	if (c.result == PMD_COPY_ORIGINAL) {
		rel.handle = c.new_handle;
	} else {
		/* Keep the fresh copy; drop the old one if still there. */
		rel.handle = c.handle;
		if (!atomic_compare_exchange_strong(&handles[i], &rel.handle,
						    c.new_handle))
			rel.handle = c.new_handle;
	}
	count(OP_RELEASE, pmd_ioctl(PMD_IOC_RELEASE, &rel));
}

static void do_rw(int i, unsigned int r, int write)
{
	char data[256];
	struct pmd_rw rw = {
		.size = sizeof(rw),
		.handle = handles[i],
		.offset = r % buf_len,
		.buf = (uintptr_t)data,
		.len = 1 + (r >> 8) % sizeof(data),
	};

	memset(data, r, sizeof(data));
	count(write ? OP_WRITE : OP_READ,
	      pmd_ioctl(write ? PMD_IOC_WRITE : PMD_IOC_READ, &rw));
}

static void *pmd_worker(void *arg)
{
	unsigned int state = (uintptr_t)arg * 2654435761u + 1;

	while (!atomic_load(&stop)) {
		unsigned int r = next_rand(&state);
		int i = r % NR_BUFS;
		struct pmd_info info = { .size = sizeof(info) };
		struct pmd_release rel = { .size = sizeof(rel) };

		switch ((r >> 4) % 6) {
		case 0:
			do_create(i, r >> 8);
			break;
		case 1:
			do_copy(i);
			break;
		case 2:
			rel.handle = atomic_exchange(&handles[i], 0);
			count(OP_RELEASE, pmd_ioctl(PMD_IOC_RELEASE, &rel));
			break;
		case 3:
			info.handle = handles[i];
			count(OP_INFO, pmd_ioctl(PMD_IOC_INFO, &info));
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
	unsigned int state = (uintptr_t)arg * 40503u + 7;

	while (!atomic_load(&stop)) {
		unsigned int r = next_rand(&state);
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
	long pins_before, pins_after, total = 0;
	int i, n = 0, failed = 0;

	page_size = sysconf(_SC_PAGESIZE);
	buf_len = BUF_PAGES * page_size;
	if (threads < 1 || threads > 60)
		threads = 4;
	bufs = mmap(NULL, 2 * NR_BUFS * buf_len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (bufs == MAP_FAILED)
		return perror("mmap"), 1;
	memset(bufs, 1, NR_BUFS * buf_len);
	pins_before = pins_held();
	fd = open("/dev/pmd", O_RDWR);
	if (fd < 0)
		return perror("/dev/pmd"), 1;

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

	printf("pmd_stress: %d s, %d ioctl threads, 2 mm threads, 1 forker\n",
	       seconds, threads);
	for (i = 0; i < NR_OPS; i++) {
		printf("  %-9s %10ld\n", op_names[i], atomic_load(&done[i]));
		total += done[i];
	}
	printf("  total     %10ld operations\n  errnos:", total);
	for (i = 1; i <= MAX_ERRNO; i++)
		if (errnos[i])
			printf(" %s=%ld", strerrorname_np(i), errnos[i]);
	printf("\n");
	pins_after = pins_held();
	printf("  invariant: pins held after close %ld (before %ld): %s\n",
	       pins_after, pins_before,
	       pins_after == pins_before ? "ok" : "LEAK");
	printf("  invariant: VmPin after close %ld kB: %s\n", vm_pinned_kb(),
	       vm_pinned_kb() == 0 ? "ok" : "LEAK");
	failed = pins_after != pins_before || vm_pinned_kb() != 0;
	/* Every kind of operation ran. */
	for (i = 0; i < NR_OPS; i++)
		if (!done[i]) {
			printf("  %s never ran\n", op_names[i]);
			failed = 1;
		}
	printf("pmd_stress: %s\n", failed ? "FAILED" : "passed");
	return failed;
}
