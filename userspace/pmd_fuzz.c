// SPDX-License-Identifier: GPL-2.0
/*
 * pmd_fuzz: a bounded, seeded, mutating driver of every /dev/pmd ioctl (and
 * mmap, read and poll), with random sizes, flags, cookies, reserved fields,
 * handles, range vectors, batches and pointers:
 * NULL, kernel addresses, unmapped, misaligned, and structs straddling into
 * an unmapped page. Then it closes the device and checks that nothing stays
 * pinned or charged and that no status mapping became writable. Prints TAP:
 * a check per invariant, the calls made and the errnos as comments.
 *
 * usage: pmd_fuzz [CALLS [SEED]]   (default 50000 calls, seed 1)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/libpmd.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define ARENA_PAGES 16
#define MAX_HANDLES 64

static struct pmd_rng rng;
static size_t page_size;
static char *arena, *guard;	/* guard: an unmapped page after the arena */
static __u32 handles[MAX_HANDLES];
static long calls, ok_calls, writable_status;
static struct pmd_errnos errnos;

static __u64 rnd(void)
{
	return pmd_rng_next(&rng);
}

static __u64 pick_pointer(size_t len)
{
	switch (rnd() % 10) {
	case 0: return 0;
	case 1: return 0xffff888000000000ULL + (rnd() & 0xfffff);
	case 2: return 0xffffffff81000000ULL;
	case 3: return (uintptr_t)guard;
	case 4: return (uintptr_t)guard - len / 2;	/* straddles */
	case 5: return (uintptr_t)arena + 1 + rnd() % 7;	/* misaligned */
	case 6: return ~0ULL - rnd() % 4096;
	case 7: return rnd();
	default: return (uintptr_t)arena + rnd() % (ARENA_PAGES * page_size - len);
	}
}

static __u32 pick_handle(void)
{
	switch (rnd() % 8) {
	case 0: return 0;
	case 1: return rnd();
	case 2: return ~0U;
	default: return handles[rnd() % MAX_HANDLES];
	}
}

static __u32 pick_size(__u32 v1)
{
	switch (rnd() % 8) {
	case 0: return rnd() % (v1 + 1);
	case 1: return v1 + 8 * (1 + rnd() % 4);
	case 2: return rnd();
	default: return v1;
	}
}

/* A range vector in the arena, sometimes hostile. */
static __u64 pick_ranges(__u32 *nr)
{
	struct pmd_range *r = (struct pmd_range *)(arena + page_size * (ARENA_PAGES - 2));
	size_t max = 2 * page_size / sizeof(*r);
	size_t i, n = 1 + rnd() % 8;

	for (i = 0; i < n; i++) {
		r[i].addr = (uintptr_t)arena + rnd() % (ARENA_PAGES * page_size / 2);
		r[i].len = 1 + rnd() % (4 * page_size);
		switch (rnd() % 12) {
		case 0:
			r[i].len = 0;
			break;
		case 1:
			r[i].addr = ~0ULL - rnd() % 100;
			break;
		case 2:
			r[i].addr = 1ULL << 63;
			break;
		case 3:
			r[i].addr = (uintptr_t)guard;
			break;
		case 4:
			r[i].len = rnd();
			break;
		}
	}
	*nr = rnd() % 16 ? n : (rnd() % 3 ? 0 : rnd() % (2 * PMD_MAX_RANGES));
	if (*nr > max && *nr <= PMD_MAX_RANGES)
		*nr = max;
	return rnd() % 10 ? (uintptr_t)r : pick_pointer(n * sizeof(*r));
}

static void remember(__u32 handle)
{
	handles[rnd() % MAX_HANDLES] = handle;
}

/* A batch of entries in the arena, sometimes more than it holds. */
static __u64 pick_entries(__u32 *nr)
{
	struct pmd_copy_entry *e = (void *)(arena + page_size * (ARENA_PAGES - 6));
	size_t max = 3 * page_size / sizeof(*e);
	size_t i, n = rnd() % 4 ? 1 + rnd() % 64 : rnd() % (max + 1);

	for (i = 0; i < n; i++) {
		e[i].handle = pick_handle();
		e[i].new_handle = rnd() % 4 ? 0 : rnd();
		e[i].result = rnd() % 4 ? 0 : rnd();
		e[i].status_index = rnd() % 4 ? 0 : rnd();
	}
	*nr = rnd() % 16 ? n : (rnd() % 2 ? rnd() % (2 * PMD_COPY_BATCH_MAX) : rnd());
	return rnd() % 10 ? (uintptr_t)e : pick_pointer(n * sizeof(*e));
}

/* The handles of a batch's entries, if the batch was in the arena. */
static void remember_batch(const struct pmd_copy_batch *b)
{
	const struct pmd_copy_entry *e = (void *)(uintptr_t)b->entries;
	char *first = arena + page_size * (ARENA_PAGES - 6);
	__u32 i;

	if ((char *)e != first || b->nr > 3 * page_size / sizeof(*e))
		return;
	for (i = 0; i < b->nr; i++)
		if (e[i].result >= 0)
			remember(e[i].new_handle);
}

static void one_call(int fd)
{
	static const unsigned long cmds[] = {
		PMD_IOC_CREATE, PMD_IOC_COPY, PMD_IOC_RELEASE, PMD_IOC_INFO,
		PMD_IOC_READ, PMD_IOC_WRITE, PMD_IOC_PFNS, PMD_IOC_COPY_BATCH,
	};
	union {
		struct pmd_create create;
		struct pmd_copy copy;
		struct pmd_release release;
		struct pmd_info info;
		struct pmd_rw rw;
		struct pmd_pfns pfns;
		struct pmd_copy_batch batch;
		struct {
			__u32 size;
			__u32 handle;
		} head;		/* of COPY, RELEASE and INFO */
		unsigned char bytes[96];
	} *a = (void *)(arena + page_size * (ARENA_PAGES - 3));
	unsigned long cmd = cmds[rnd() % ARRAY_SIZE(cmds)];
	__u64 argp = (uintptr_t)a;
	size_t i;
	int ret;

	for (i = 0; i < sizeof(*a); i++)
		a->bytes[i] = rnd() % 4 ? 0 : rnd();
	switch (cmd) {
	case PMD_IOC_CREATE:
		a->create.size = pick_size(sizeof(a->create));
		a->create.flags = rnd() % 4 ? rnd() % 8 : rnd();
		a->create.ranges = pick_ranges(&a->create.nr_ranges);
		a->create.cookie = rnd();
		break;
	case PMD_IOC_COPY_BATCH:
		a->batch.size = pick_size(sizeof(a->batch));
		a->batch.entries = pick_entries(&a->batch.nr);
		break;
	case PMD_IOC_COPY:
	case PMD_IOC_RELEASE:
	case PMD_IOC_INFO:
		a->head.size = pick_size(cmd == PMD_IOC_COPY ? sizeof(a->copy) :
					 cmd == PMD_IOC_RELEASE ?
					 sizeof(a->release) : sizeof(a->info));
		a->head.handle = pick_handle();
		break;
	case PMD_IOC_READ:
	case PMD_IOC_WRITE:
		a->rw.size = pick_size(sizeof(a->rw));
		a->rw.handle = pick_handle();
		a->rw.offset = rnd() % 3 ? rnd() % (8 * page_size) : rnd();
		a->rw.len = rnd() % 3 ? rnd() % (2 * page_size) : rnd();
		a->rw.buf = pick_pointer(64);
		break;
	default:
		a->pfns.size = pick_size(sizeof(a->pfns));
		a->pfns.handle = pick_handle();
		a->pfns.first = rnd() % 3 ? rnd() % 8 : rnd();
		a->pfns.nr = rnd() % 3 ? rnd() % 8 : rnd();
		a->pfns.pfns = pick_pointer(64);
		break;
	}
	switch (rnd() % 20) {
	case 0:
		argp = pick_pointer(sizeof(*a));
		break;
	case 1:
		cmd = _IO(PMD_TYPE, rnd() % 256);
		break;
	case 2:
		cmd = rnd();
		break;
	case 3:
		cmd = _IOWR(PMD_TYPE, PMD_CMD_CREATE + rnd() % ARRAY_SIZE(cmds),
			    struct pmd_info);
		break;
	}
	ret = _pmd_ioctl(fd, cmd, (void *)(uintptr_t)argp);
	calls++;
	if (ret) {
		pmd_errnos_add(&errnos, ret);
		return;
	}
	ok_calls++;
	if (argp != (uintptr_t)a)
		return;
	if (cmd == PMD_IOC_CREATE)
		remember(a->create.handle);
	else if (cmd == PMD_IOC_COPY)
		remember(a->copy.new_handle);
	else if (cmd == PMD_IOC_COPY_BATCH)
		remember_batch(&a->batch);
}

/*
 * Change the arena under the handles now and then, so that events queue,
 * and read them with random lengths and buffers, blocking never.
 */
static void one_read(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t len = rnd() % 4 ? rnd() % (3 * sizeof(struct pmd_event)) : rnd();
	char *p = arena + page_size * (rnd() % (ARENA_PAGES - 8));
	__u64 to = rnd() % 4 ? (uintptr_t)arena : pick_pointer(len);

	if (rnd() % 2)
		madvise(p, page_size, MADV_DONTNEED);
	calls++;
	if (poll(&pfd, 1, 0) < 0) {
		pmd_errnos_add(&errnos, errno);
		return;
	}
	if (read(fd, (void *)(uintptr_t)to, len) < 0) {
		pmd_errnos_add(&errnos, errno);
		return;
	}
	ok_calls++;
}

static void one_mmap(int fd)
{
	static const int prots[] = { PROT_READ, PROT_READ | PROT_WRITE,
				     PROT_WRITE, PROT_NONE };
	size_t len = rnd() % 3 ? page_size * (1 + rnd() % 10) :
		     rnd() % 2 ? PMD_STATUS_MAX_SIZE + page_size * (rnd() % 3 - 1) :
		     rnd();
	void *p = mmap(NULL, len, prots[rnd() % 4],
		       rnd() % 2 ? MAP_SHARED : MAP_PRIVATE, fd,
		       rnd() % 3 ? 0 : page_size * (rnd() % 4));

	calls++;
	if (p == MAP_FAILED) {
		pmd_errnos_add(&errnos, errno);
		return;
	}
	ok_calls++;
	if (mprotect(p, len, PROT_READ | PROT_WRITE) == 0)
		writable_status++;
	munmap(p, len);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 50000, i;
	struct pmd_tap tap;
	long pins_before;
	int fd;

	pmd_rng_seed(&rng, argc > 2 ? strtoull(argv[2], NULL, 0) : 1);
	page_size = sysconf(_SC_PAGESIZE);
	arena = mmap(NULL, (ARENA_PAGES + 1) * page_size,
		     PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (arena == MAP_FAILED)
		pmd_die("mmap");
	guard = arena + ARENA_PAGES * page_size;
	munmap(guard, page_size);
	memset(arena, 1, ARENA_PAGES * page_size);

	pmd_tap_plan(&tap, 3);
	pins_before = pmd_pins_held();
	fd = pmd_open();
	if (fcntl(fd, F_SETFL, O_NONBLOCK))
		pmd_die("fcntl");
	for (i = 0; i < n; i++) {
		switch (rnd() % 50) {
		case 0:
			one_mmap(fd);
			break;
		case 1:
		case 2:
			one_read(fd);
			break;
		default:
			one_call(fd);
			break;
		}
	}
	close(fd);

	printf("# pmd_fuzz: %ld calls (seed %s), %ld succeeded; errnos:", calls,
	       argc > 2 ? argv[2] : "1", ok_calls);
	pmd_errnos_print(stdout, &errnos);
	pmd_tap_ok(&tap, !writable_status, "writable status mappings: %ld",
		   writable_status);
	pmd_tap_no_leaks(&tap, pins_before);
	return pmd_tap_done(&tap);
}
