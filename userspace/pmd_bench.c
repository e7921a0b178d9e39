// SPDX-License-Identifier: GPL-2.0
/*
 * pmd_bench: what the copy constructor and its peers cost, measured side by
 * side in one boot. For each buffer size, with THP off and then on, it takes
 * the minimum over repeats (alternating which of pmd and io_uring goes
 * first) of:
 *   create          PMD_IOC_CREATE of a persistent, device-writes descriptor
 *   copy            PMD_IOC_COPY with nothing changed (the fast path)
 *   spurious        PMD_IOC_COPY after MADV_DONTNEED of the gap page (compare,
 *                   original): the descriptor is two ranges of len/2 around a
 *                   page that is in the span the notifier watches but in no
 *                   range, so its invalidation changes no recorded page
 *   fresh           PMD_IOC_COPY after munmap + mmap + touch (a new descriptor)
 *   release         PMD_IOC_RELEASE of the last reference (unpin)
 *   info            PMD_IOC_INFO, the floor of any ioctl
 *   status          one load of the handle's status word
 *   uring_reg       io_uring_register(IORING_REGISTER_BUFFERS) of the buffer
 *   uring_unreg     io_uring_register(IORING_UNREGISTER_BUFFERS)
 *   create_new      create over the replacement memory that fresh pinned
 * and prints a table, the ratios the project targets, and the kernel memory
 * a descriptor costs per page. Times are in microseconds; under TCG only the
 * ratios mean anything. (mprotect is no longer a spurious case: protection
 * changes move no sequence, so COPY after one takes the fast path.)
 *
 * Then two sections of their own:
 *   COPY_BATCH      1000 unchanged one-page handles: one PMD_IOC_COPY each
 *                   against one PMD_IOC_COPY_BATCH of all, per handle
 *   rcache          a seeded workload over buffers of 64 KiB to 2 MiB,
 *                   each its own mmap() (writes, remaps, MADV_DONTNEED of
 *                   a page, mprotect and back, fork, NUMA-balancing time),
 *                   every op followed by a lookup of every buffer in three
 *                   registration caches: pmd_rcache (status words); one
 *                   that, like kdreg2, evicts on every invalidation of a
 *                   buffer; one that reads /proc/self/pagemap at every
 *                   lookup (UCX_RCACHE_CHECK_PFN). Stale hits (a hit whose
 *                   recorded pages, PMD_IOC_PFNS, are not what pagemap shows
 *                   now) need root to be seen. Run twice: with the
 *                   buffers adjacent, so that their mappings merge into
 *                   one VMA as malloc's do, and with a guard page after
 *                   each, so that each is a VMA of its own. Splitting a
 *                   VMA at an address that is not 2 MiB aligned (an
 *                   mprotect or a remap of one buffer) makes the kernel
 *                   invalidate the whole 2 MiB around it, huge page or
 *                   not (split_huge_pmd_address()), which no monitor can
 *                   tell from a zap: the first run shows what that costs.
 *
 * No timing is asserted. The exit status is 1 when pmd_rcache hands out a
 * handle whose pages are not the buffer's (a stale hit): that is
 * correctness.
 *
 * usage: pmd_bench [--short]   (--short: up to 64 MiB, 5 repeats, and the
 *                               registration caches reduced)
 * (pmd_bench --rcache [--short] is the registration-cache section alone: the
 * process that pmd_bench starts for it.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/libpmd.h"
#include "lib/pmd_rcache.h"

#define HUGE_SIZE (2UL << 20)
#define PAGE 4096UL
#define STATUS_LOADS 100000
/* Back-to-back calls per repeat for the cheap operations: warm, not cold. */
#define BURST 5

enum metric {
	M_CREATE, M_COPY, M_SPURIOUS, M_FRESH, M_RELEASE, M_INFO, M_STATUS,
	M_URING_REG, M_URING_UNREG, M_CREATE_NEW, M_NR
};

static const char *const metric_names[M_NR] = {
	"create", "copy", "spurious", "fresh", "release", "info", "status",
	"uring_reg", "uring_unreg", "create_new",
};

static const size_t all_sizes[] = { 4096, 2UL << 20, 64UL << 20, 1UL << 30 };
static const char *const size_names[] = { "4K", "2M", "64M", "1G" };

static int pmd_fd, ring_fd;
static const __u64 *status_area;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void set_thp(const char *mode)
{
	pmd_check(pmd_write_file("/sys/kernel/mm/transparent_hugepage/enabled",
				 mode, 0), "transparent_hugepage/enabled");
}

static void touch(char *buf, size_t len, char seed)
{
	size_t i;

	for (i = 0; i < len; i += 4096)
		buf[i] = seed;
}

/* A buffer aligned to a huge page, populated. */
static char *map_buffer(size_t len, void **map, size_t *map_len)
{
	*map_len = len + HUGE_SIZE;
	*map = mmap(NULL, *map_len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (*map == MAP_FAILED)
		pmd_die("mmap");
	return (char *)(((uintptr_t)*map + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1));
}

#define BENCH_FLAGS (PMD_F_PERSISTENT | PMD_F_DEVICE_READS | PMD_F_DEVICE_WRITES)

/*
 * The table's descriptor of @len bytes at @buf: two ranges of half of it
 * around a gap page, whose address goes in *@gap. Returns the span, from
 * @buf to the end of the second range, which the buffer must map.
 */
static size_t bench_ranges(char *buf, size_t len, struct pmd_range r[2],
			   char **gap)
{
	size_t half = len / 2;

	*gap = (char *)(((uintptr_t)buf + half + PAGE - 1) & ~(PAGE - 1));
	r[0].addr = (uintptr_t)buf;
	r[0].len = half;
	r[1].addr = (uintptr_t)*gap + PAGE;
	r[1].len = len - half;
	return *gap + PAGE + (len - half) - buf;
}

static __u32 bench_create(char *buf, size_t len)
{
	struct pmd_range r[2];
	__u32 handle = 0;
	char *gap;

	bench_ranges(buf, len, r, &gap);
	pmd_check(_pmd_create_ranges(pmd_fd, r, 2, BENCH_FLAGS, &handle),
		  "CREATE");
	return handle;
}

static double time_status_load(__u32 index)
{
	__u64 sum = 0;
	double t0 = now_us();
	int i;

	for (i = 0; i < STATUS_LOADS; i++)
		sum += pmd_status_word(status_area, index);
	if (sum == 1)
		printf(" ");
	return (now_us() - t0) / STATUS_LOADS;
}

static void keep_min(double *best, double t)
{
	if (*best < 0 || t < *best)
		*best = t;
}

/* One repeat of the pmd measurements; @buf is populated. */
static void bench_pmd(char *buf, size_t len, double *m)
{
	struct pmd_range r[2];
	struct pmd_info info;
	size_t span;
	__u32 h, c;
	char *gap;
	double t;
	int i;

	span = bench_ranges(buf, len, r, &gap);
	t = now_us();
	h = bench_create(buf, len);
	keep_min(&m[M_CREATE], now_us() - t);

	for (i = 0; i < BURST; i++) {
		t = now_us();
		c = pmd_copy_expect(pmd_fd, h, PMD_COPY_ORIGINAL);
		keep_min(&m[M_COPY], now_us() - t);
		pmd_release(pmd_fd, c);

		t = now_us();
		info = pmd_info(pmd_fd, h);
		keep_min(&m[M_INFO], now_us() - t);
	}
	keep_min(&m[M_STATUS], time_status_load(info.status_index));

	/* In the notifier's span, in no range: changes no recorded page. */
	if (madvise(gap, PAGE, MADV_DONTNEED))
		pmd_die("madvise");
	t = now_us();
	c = pmd_copy_expect(pmd_fd, h, PMD_COPY_ORIGINAL);
	keep_min(&m[M_SPURIOUS], now_us() - t);
	pmd_release(pmd_fd, c);
	/* The compare refreshed the view: fast again. */
	for (i = 0; i < BURST; i++) {
		t = now_us();
		c = pmd_copy_expect(pmd_fd, h, PMD_COPY_ORIGINAL);
		keep_min(&m[M_COPY], now_us() - t);
		pmd_release(pmd_fd, c);
	}

	pmd_check(pmd_remap(buf, span), "remap");
	touch(buf, span, 2);
	t = now_us();
	c = pmd_copy_expect(pmd_fd, h, PMD_COPY_FRESH);
	keep_min(&m[M_FRESH], now_us() - t);

	t = now_us();
	pmd_release(pmd_fd, c);
	keep_min(&m[M_RELEASE], now_us() - t);
	pmd_release(pmd_fd, h);

	/*
	 * Create over the replacement memory that fresh pinned: it was faulted
	 * in while the old pages were still pinned, so with THP on it may have
	 * got fewer huge pages than the first memory.
	 */
	t = now_us();
	h = bench_create(buf, len);
	keep_min(&m[M_CREATE_NEW], now_us() - t);
	pmd_release(pmd_fd, h);
}

static void bench_uring(char *buf, size_t len, double *m)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	double t;

	t = now_us();
	if (syscall(__NR_io_uring_register, ring_fd, IORING_REGISTER_BUFFERS,
		    &iov, 1))
		pmd_die("IORING_REGISTER_BUFFERS");
	keep_min(&m[M_URING_REG], now_us() - t);
	t = now_us();
	if (syscall(__NR_io_uring_register, ring_fd,
		    IORING_UNREGISTER_BUFFERS, NULL, 0))
		pmd_die("IORING_UNREGISTER_BUFFERS");
	keep_min(&m[M_URING_UNREG], now_us() - t);
}

static void bench_size(size_t len, int repeats, double *m)
{
	struct pmd_range ranges[2];
	size_t map_len, span;
	void *map;
	char *buf, *gap;
	int r, i;

	for (i = 0; i < M_NR; i++)
		m[i] = -1;
	buf = map_buffer(len, &map, &map_len);
	span = bench_ranges(buf, len, ranges, &gap);
	for (r = 0; r < repeats; r++) {
		touch(buf, span, 1);
		if (r & 1) {
			bench_uring(buf, len, m);
			bench_pmd(buf, len, m);
		} else {
			bench_pmd(buf, len, m);
			touch(buf, span, 1);
			bench_uring(buf, len, m);
		}
	}
	munmap(map, map_len);
}

/* Slab + VmallocUsed of /proc/meminfo, in kB. */
static long kernel_memory_kb(void)
{
	long slab = pmd_meminfo_kb("Slab"), vmalloc = pmd_meminfo_kb("VmallocUsed");

	if (slab < 0 || vmalloc < 0)
		pmd_die("/proc/meminfo");
	return slab + vmalloc;
}

/* Kernel memory (slab + vmalloc), in bytes, of a descriptor of @len bytes. */
static double descriptor_bytes(size_t len)
{
	size_t map_len;
	double bytes;
	long before;
	void *map;
	char *buf;
	__u32 h;

	buf = map_buffer(len, &map, &map_len);
	touch(buf, len, 1);
	before = kernel_memory_kb();
	h = pmd_create(pmd_fd, buf, len, BENCH_FLAGS);
	bytes = (kernel_memory_kb() - before) * 1024.0;
	pmd_release(pmd_fd, h);
	munmap(map, map_len);
	return bytes;
}

/*
 * The marginal cost of a page, between descriptors of @small and @large
 * bytes, and the average, with the fixed cost of a descriptor in it.
 */
static void memory_per_page(size_t small, size_t large)
{
	double a = descriptor_bytes(small), b = descriptor_bytes(large);

	printf("\nkernel memory (slab + vmalloc) per pinned page:\n");
	printf("  %.2f bytes marginal (target <= 8), %.2f bytes average over %zu MiB\n",
	       (b - a) / ((large - small) / 4096), b / (large / 4096),
	       large >> 20);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* COPY_BATCH against single COPYs: unchanged one-page handles. */
#define BATCH_HANDLES 1000

/* One PMD_IOC_COPY of each handle: ns per handle. */
static double batch_single(const __u32 *h, unsigned int n)
{
	double t = now_ns();
	unsigned int i;
	__u32 c;

	for (i = 0; i < n; i++)
		if (_pmd_copy(pmd_fd, h[i], &c) != PMD_COPY_ORIGINAL)
			pmd_die("COPY of an unchanged handle");
	return (now_ns() - t) / n;
}

/* One PMD_IOC_COPY_BATCH of all handles: ns per handle. */
static double batch_all(const __u32 *h, struct pmd_copy_entry *e,
			unsigned int n)
{
	unsigned int i;
	double t;

	memset(e, 0, n * sizeof(*e));
	for (i = 0; i < n; i++)
		e[i].handle = h[i];
	t = now_ns();
	pmd_copy_batch(pmd_fd, e, n);
	t = now_ns() - t;
	for (i = 0; i < n; i++)
		if (e[i].result != PMD_COPY_ORIGINAL || e[i].new_handle != h[i])
			pmd_die("COPY_BATCH entry of an unchanged handle");
	return t / n;
}

/* The reference each COPY added: a handle holds PMD_MAX_HANDLE_REFS. */
static void batch_release(const __u32 *h, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		pmd_release(pmd_fd, h[i]);
}

static double bench_batch(int repeats)
{
	static struct pmd_copy_entry e[BATCH_HANDLES];
	static __u32 h[BATCH_HANDLES];
	size_t len = BATCH_HANDLES * PAGE;
	double single = -1, batch = -1;
	char *buf;
	int r, i;

	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		pmd_die("mmap");
	touch(buf, len, 1);
	for (i = 0; i < BATCH_HANDLES; i++)
		h[i] = pmd_create(pmd_fd, buf + i * PAGE, PAGE, BENCH_FLAGS);
	for (r = 0; r < repeats; r++) {
		if (r & 1) {
			keep_min(&batch, batch_all(h, e, BATCH_HANDLES));
			batch_release(h, BATCH_HANDLES);
		}
		keep_min(&single, batch_single(h, BATCH_HANDLES));
		batch_release(h, BATCH_HANDLES);
		if (!(r & 1)) {
			keep_min(&batch, batch_all(h, e, BATCH_HANDLES));
			batch_release(h, BATCH_HANDLES);
		}
	}
	/* The creation reference. */
	batch_release(h, BATCH_HANDLES);
	munmap(buf, len);
	printf("\nCOPY_BATCH: %d unchanged one-page handles, ", BATCH_HANDLES);
	printf("minimum of %d repeats, ns per handle\n", repeats);
	printf("  PMD_IOC_COPY, one per handle  %10.0f\n", single);
	printf("  PMD_IOC_COPY_BATCH of all     %10.0f\n", batch);
	printf("  batch/single                  %10.3f  (target <= 0.10)\n",
	       batch / single);
	return batch / single;
}

/*
 * The registration-cache workload: buffers, each its own mmap(), the ops
 * done to them, and the three caches (models) looked up after each op.
 */
enum rc_op {
	OP_WRITE, OP_REMAP, OP_DONTNEED, OP_MPROTECT, OP_FORK, OP_NUMA, OP_NR
};

static const char *const op_names[OP_NR] = {
	"write", "remap", "dontneed", "mprotect", "fork", "numa",
};

/* Out of 100. NUMA time costs seconds: it is spread evenly instead. */
static const int op_weights[OP_NUMA] = { 50, 10, 10, 15, 15 };

enum { MODEL_RCACHE, MODEL_KDREG2, MODEL_PAGEMAP, MODEL_NR };

static const char *const model_names[MODEL_NR] = {
	"pmd_rcache", "kdreg2-like", "pagemap-check",
};

#define RC_MAX_BUFS 32
#define RC_MAX_PAGES 512
/* The invalidations_* counters of pmd_stats, in this order. */
#define RC_INVALS 6

struct rc_buf {
	char *addr;
	size_t len;
	__u32 k_handle;		/* kdreg2-like: the registration */
	int k_valid;		/* ... not evicted since */
	int k_spurious;		/* ... evicted, yet the pages are the same */
	__u32 p_handle;		/* pagemap-check: the registration */
	__u64 p_pfns[RC_MAX_PAGES]; /* ... and the PFNs pagemap showed then */
};

struct rc_model {
	int fd;
	unsigned long lookups, hits, misses, spurious, stale, bad;
	double ns, ns_hits;	/* in lookups, in those that hit */
};

static struct {
	struct rc_buf buf[RC_MAX_BUFS];
	int nr_bufs;
	int guard;		/* a PROT_NONE page after each buffer */
	struct rc_model model[MODEL_NR];
	struct pmd_rcache *rc;
	int pagemap;		/* /proc/self/pagemap */
	int have_pfns;		/* root: pagemap and PMD_IOC_PFNS show PFNs */
	struct pmd_rng rng;
	int numa_ms;		/* how long an OP_NUMA runs */
	int result[RC_MAX_BUFS];	/* per buffer: the last lookup's */
	__u32 handle[RC_MAX_BUFS];
	double ns[RC_MAX_BUFS];
	unsigned long ops[OP_NR];
	long inval[OP_NR][RC_INVALS];
	enum rc_op op;		/* the op the lookups follow */
	unsigned long spurious[OP_NR];	/* pmd_rcache's, after each op */
} rcb;

static void pagemap_read(const char *addr, size_t n, __u64 *pfns)
{
	size_t i, bytes = n * sizeof(*pfns);
	off_t off = (uintptr_t)addr / PAGE * sizeof(*pfns);

	if (pread(rcb.pagemap, pfns, bytes, off) != (ssize_t)bytes)
		pmd_die("read /proc/self/pagemap");
	for (i = 0; i < n; i++)
		pfns[i] = pfns[i] >> 63 ? pfns[i] & ((1ULL << 55) - 1) : 0;
}

/* Are the pages @handle recorded not those that @b maps now? */
static int pages_differ(int fd, __u32 handle, const struct rc_buf *b)
{
	static __u64 rec[RC_MAX_PAGES], cur[RC_MAX_PAGES];
	size_t n = b->len / PAGE;

	pmd_check(_pmd_pfns(fd, handle, 0, n, rec), "PFNS");
	pagemap_read(b->addr, n, cur);
	return memcmp(rec, cur, n * sizeof(*rec)) != 0;
}

/* Count lookup @i of a pass; check the pages it handed out when root. */
static void model_count(struct rc_model *m, int i, int hit, int spurious)
{
	int differ = rcb.have_pfns &&
		     pages_differ(m->fd, rcb.handle[i], &rcb.buf[i]);

	m->lookups++;
	m->ns += rcb.ns[i];
	if (hit) {
		m->hits++;
		m->ns_hits += rcb.ns[i];
		m->stale += differ;
		return;
	}
	m->misses++;
	m->spurious += spurious;
	m->bad += differ;
}

static void pass_rcache(struct rc_model *m)
{
	double t;
	int i;

	for (i = 0; i < rcb.nr_bufs; i++) {
		t = now_ns();
		rcb.result[i] = pmd_rcache_get(rcb.rc, rcb.buf[i].addr,
					       rcb.buf[i].len, &rcb.handle[i]);
		rcb.ns[i] = now_ns() - t;
	}
	for (i = 0; i < rcb.nr_bufs; i++) {
		pmd_check(rcb.result[i] < 0 ? rcb.result[i] : 0, "rcache get");
		model_count(m, i, rcb.result[i] == PMD_RCACHE_HIT,
			    rcb.result[i] == PMD_RCACHE_MISS_ORIGINAL);
		rcb.spurious[rcb.op] +=
			rcb.result[i] == PMD_RCACHE_MISS_ORIGINAL;
	}
}

/*
 * kdreg2-like: a buffer evicted by an invalidation is registered anew.
 * Whether that miss was spurious is decided before, untimed, from the
 * pages the old registration recorded.
 */
static void pass_kdreg2(struct rc_model *m)
{
	struct rc_buf *b;
	double t;
	int i;

	for (i = 0, b = rcb.buf; i < rcb.nr_bufs; i++, b++)
		b->k_spurious = !b->k_valid && rcb.have_pfns &&
				!pages_differ(m->fd, b->k_handle, b);
	for (i = 0, b = rcb.buf; i < rcb.nr_bufs; i++, b++) {
		t = now_ns();
		rcb.result[i] = !b->k_valid;
		if (!b->k_valid) {
			pmd_release(m->fd, b->k_handle);
			b->k_handle = pmd_create(m->fd, b->addr, b->len,
						 BENCH_FLAGS);
			b->k_valid = 1;
		}
		rcb.handle[i] = b->k_handle;
		rcb.ns[i] = now_ns() - t;
	}
	for (i = 0, b = rcb.buf; i < rcb.nr_bufs; i++, b++)
		model_count(m, i, !rcb.result[i], b->k_spurious);
}

/* pagemap-check: the PFNs of every lookup against those registered. */
static int pagemap_lookup(struct rc_model *m, struct rc_buf *b)
{
	static __u64 cur[RC_MAX_PAGES];
	size_t n = b->len / PAGE;

	pagemap_read(b->addr, n, cur);
	if (b->p_handle && !memcmp(cur, b->p_pfns, n * sizeof(*cur)))
		return 0;
	if (b->p_handle)
		pmd_release(m->fd, b->p_handle);
	b->p_handle = pmd_create(m->fd, b->addr, b->len, BENCH_FLAGS);
	pagemap_read(b->addr, n, b->p_pfns);
	return 1;
}

static void pass_pagemap(struct rc_model *m)
{
	double t;
	int i;

	for (i = 0; i < rcb.nr_bufs; i++) {
		t = now_ns();
		rcb.result[i] = pagemap_lookup(m, &rcb.buf[i]);
		rcb.handle[i] = rcb.buf[i].p_handle;
		rcb.ns[i] = now_ns() - t;
	}
	for (i = 0; i < rcb.nr_bufs; i++)
		model_count(m, i, !rcb.result[i], 0);
}

static void (*const passes[MODEL_NR])(struct rc_model *m) = {
	pass_rcache, pass_kdreg2, pass_pagemap,
};

/* Every buffer would have had an invalidation event: kdreg2 evicts all. */
static void kdreg2_evict_all(void)
{
	int i;

	for (i = 0; i < rcb.nr_bufs; i++)
		rcb.buf[i].k_valid = 0;
}

static void op_fork(void)
{
	pid_t pid = fork();

	if (pid < 0)
		pmd_die("fork");
	if (!pid)
		_exit(0);
	if (waitpid(pid, NULL, 0) != pid)
		pmd_die("waitpid");
}

/* Keep the task running, so that the scheduler tick starts NUMA scans. */
static void op_numa(void)
{
	double end = now_us() + rcb.numa_ms * 1000.0;
	char seed = 0;
	int i;

	while (now_us() < end)
		for (i = 0; i < rcb.nr_bufs; i++)
			touch(rcb.buf[i].addr, rcb.buf[i].len, seed++);
}

static void do_op(enum rc_op op, struct rc_buf *b)
{
	size_t page = pmd_rng_next(&rcb.rng) % (b->len / PAGE);

	switch (op) {
	case OP_WRITE:
		touch(b->addr, b->len, (char)page);
		return;
	case OP_REMAP:
		pmd_check(pmd_remap(b->addr, b->len), "remap");
		touch(b->addr, b->len, 3);
		break;
	case OP_DONTNEED:
		if (madvise(b->addr + page * PAGE, PAGE, MADV_DONTNEED))
			pmd_die("madvise");
		break;
	case OP_MPROTECT:
		if (mprotect(b->addr, b->len, PROT_READ) ||
		    mprotect(b->addr, b->len, PROT_READ | PROT_WRITE))
			pmd_die("mprotect");
		break;
	default:
		(op == OP_FORK ? op_fork : op_numa)();
		return;
	}
	b->k_valid = 0;
}

static void stats_invals(long *v)
{
	struct pmd_stats st;

	if (pmd_stats_read(&st)) {
		memset(v, 0, RC_INVALS * sizeof(*v));
		return;
	}
	v[0] = st.inval_unmap;
	v[1] = st.inval_clear;
	v[2] = st.inval_migrate;
	v[3] = st.inval_protection_vma;
	v[4] = st.inval_protection_page;
	v[5] = st.inval_soft_dirty;
}

/*
 * Do @op to a random buffer and count the invalidations the module saw.
 * Fork write-protects every buffer. NUMA scans sweep all of them, during
 * any op (the task runs, the tick starts a scan): protection-only
 * invalidations beyond those of the op's own mprotect calls (two, on each
 * model's descriptor) mean a scan, and kdreg2 would have had an event for
 * every buffer. (Scans during the lookups go uncounted: for kdreg2 this
 * model is a lower bound.)
 */
static void run_op(enum rc_op op)
{
	struct rc_buf *b = &rcb.buf[pmd_rng_next(&rcb.rng) % rcb.nr_bufs];
	long before[RC_INVALS], after[RC_INVALS], prot;
	int i;

	rcb.op = op;
	stats_invals(before);
	do_op(op, b);
	stats_invals(after);
	for (i = 0; i < RC_INVALS; i++)
		rcb.inval[op][i] += after[i] - before[i];
	rcb.ops[op]++;
	/* invalidations_protection_vma, _page and _soft_dirty */
	prot = after[3] - before[3] + after[4] - before[4] +
	       after[5] - before[5];
	if (op == OP_FORK ||
	    prot > (op == OP_MPROTECT ? 2 * MODEL_NR : 0))
		kdreg2_evict_all();
}

static enum rc_op pick_op(int k, int nr_ops, int nr_numa)
{
	int every = nr_numa ? nr_ops / nr_numa : 0, w, op;

	if (every && k % every == every / 2)
		return OP_NUMA;
	w = pmd_rng_next(&rcb.rng) % 100;
	for (op = 0; op < OP_NUMA - 1 && w >= op_weights[op]; op++)
		w -= op_weights[op];
	return op;
}

/*
 * NUMA balancing on, scanning soon and often (a run is seconds, not the
 * default minutes); numa_restore() puts the knobs back. Quietly nothing
 * without root, debugfs or the knobs.
 */
#define NUMA_DIR "/sys/kernel/debug/sched/numa_balancing/"
static const char *const numa_knobs[] = {
	"/proc/sys/kernel/numa_balancing", NUMA_DIR "scan_delay_ms",
	NUMA_DIR "scan_period_min_ms", NUMA_DIR "scan_period_max_ms",
};

static const char *const numa_values[] = { "1", "0", "10", "100" };
static char numa_saved[4][32];

static void read_text(const char *path, char *text, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, text, size - 1);

	text[n > 0 ? n : 0] = 0;
	if (fd >= 0)
		close(fd);
}

static int numa_setup(void)
{
	int i;

	if (getuid())
		return 0;
	for (i = 0; i < 4; i++)
		read_text(numa_knobs[i], numa_saved[i], sizeof(numa_saved[i]));
	if (pmd_write_file(numa_knobs[0], numa_values[0], 0))
		return 0;
	for (i = 1; i < 4; i++)
		pmd_write_file(numa_knobs[i], numa_values[i], 0);
	return 1;
}

/* Backwards: scan_period_max_ms may not go below scan_period_min_ms. */
static void numa_restore(int numa)
{
	int i;

	for (i = 3; numa && i >= 0; i--)
		if (numa_saved[i][0])
			pmd_write_file(numa_knobs[i], numa_saved[i], 0);
}

/* Map the buffers, each its own mapping of a random size, touched. */
static void rc_map_buffers(int nr)
{
	static const size_t sizes[] = { 64 << 10, 128 << 10, 256 << 10,
					512 << 10, 1 << 20, 2 << 20 };
	struct rc_buf *b;
	__u64 pfn;
	int i;

	rcb.nr_bufs = nr;
	for (i = 0, b = rcb.buf; i < nr; i++, b++) {
		b->len = sizes[pmd_rng_next(&rcb.rng) % 6];
		b->addr = mmap(NULL, b->len + rcb.guard * PAGE,
			       PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (b->addr == MAP_FAILED ||
		    mprotect(b->addr + b->len, rcb.guard * PAGE, PROT_NONE))
			pmd_die("mmap");
		touch(b->addr, b->len, 1);
	}
	rcb.pagemap = open("/proc/self/pagemap", O_RDONLY);
	if (rcb.pagemap < 0)
		pmd_die("open /proc/self/pagemap");
	pagemap_read(rcb.buf[0].addr, 1, &pfn);
	rcb.have_pfns = pfn != 0;
}

/* The caches' files, and every buffer registered once, not counted. */
static void rc_setup(void)
{
	struct rc_model *m = rcb.model;
	int i, ret;
	__u32 h;

	for (i = 0; i < MODEL_NR; i++)
		m[i].fd = pmd_open();
	/* For pmd_rcache_evict_changed(): reads without a poll first. */
	if (fcntl(m[MODEL_RCACHE].fd, F_SETFL, O_NONBLOCK))
		pmd_die("fcntl");
	rcb.rc = pmd_rcache_new(m[MODEL_RCACHE].fd, RC_MAX_BUFS);
	if (!rcb.rc)
		pmd_die("pmd_rcache_new");
	for (i = 0; i < rcb.nr_bufs; i++) {
		ret = pmd_rcache_get(rcb.rc, rcb.buf[i].addr, rcb.buf[i].len,
				     &h);
		pmd_check(ret < 0 ? ret : 0, "rcache get");
		rcb.buf[i].k_handle = pmd_create(m[MODEL_KDREG2].fd,
						 rcb.buf[i].addr,
						 rcb.buf[i].len, BENCH_FLAGS);
		rcb.buf[i].k_valid = 1;
		pagemap_lookup(&m[MODEL_PAGEMAP], &rcb.buf[i]);
	}
}

static void rc_print_invals(void)
{
	static const char *const names[RC_INVALS] = {
		"unmap", "clear", "migrate", "prot_vma", "prot_page",
		"soft_dirty",
	};
	int op, i;

	printf("  invalidations the module counted, by op (summed):\n");
	printf("  %-9s %6s", "op", "count");
	for (i = 0; i < RC_INVALS; i++)
		printf(" %10s", names[i]);
	printf(" %15s\n", "rcache spurious");
	for (op = 0; op < OP_NR; op++) {
		printf("  %-9s %6lu", op_names[op], rcb.ops[op]);
		for (i = 0; i < RC_INVALS; i++)
			printf(" %10ld", rcb.inval[op][i]);
		printf(" %15lu\n", rcb.spurious[op]);
	}
}

static double spurious_pct(const struct rc_model *m)
{
	return m->misses ? 100.0 * m->spurious / m->misses : 0;
}

static void rc_print_models(void)
{
	const struct rc_model *m;
	char stale[16];
	int i;

	printf("  %-14s %8s %8s %8s %8s %7s %6s %10s %9s\n", "model",
	       "lookups", "hits", "misses", "spurious", "spur%", "stale",
	       "ns/lookup", "ns/hit");
	for (i = 0; i < MODEL_NR; i++) {
		m = &rcb.model[i];
		if (i == MODEL_PAGEMAP && !rcb.have_pfns) {
			printf("  %-14s (needs root to see PFNs)\n",
			       model_names[i]);
			continue;
		}
		snprintf(stale, sizeof(stale), rcb.have_pfns ? "%lu" : "n/a",
			 m->stale);
		printf("  %-14s %8lu %8lu %8lu %8lu %7.1f %6s %10.0f %9.0f\n",
		       model_names[i], m->lookups, m->hits, m->misses,
		       m->spurious, spurious_pct(m), stale,
		       m->ns / m->lookups, m->hits ? m->ns_hits / m->hits : 0);
	}
}

/*
 * A hit without the timer around it, and what the timer adds to every
 * lookup in the table: under TCG, clock_gettime() may cost as much as a hit.
 */
#define RC_HIT_LOOPS 100000

static void rc_hit_loop(void)
{
	const struct rc_buf *b = &rcb.buf[0];
	double t, timer;
	int i, hits = 0;
	__u32 h;

	t = now_ns();
	for (i = 0; i < RC_HIT_LOOPS; i++)
		hits += pmd_rcache_get(rcb.rc, b->addr, b->len, &h) ==
			PMD_RCACHE_HIT;
	t = (now_ns() - t) / RC_HIT_LOOPS;
	timer = now_ns();
	for (i = 0; i < RC_HIT_LOOPS; i++)
		now_ns();
	timer = (now_ns() - timer) / RC_HIT_LOOPS;
	printf("  pmd_rcache_get() back to back: %.0f ns (%d of %d hits);",
	       t, hits, RC_HIT_LOOPS);
	printf(" the timer adds %.0f ns to each ns column\n", timer);
}

/*
 * The event queue: replace every buffer's memory, then let
 * pmd_rcache_evict_changed() unpin the old pages without a lookup.
 */
static void rc_events(void)
{
	const struct pmd_rcache_stats *st = pmd_rcache_stats(rcb.rc);
	int i, n;

	for (i = 0; i < rcb.nr_bufs; i++)
		pmd_check(pmd_remap(rcb.buf[i].addr, rcb.buf[i].len), "remap");
	n = pmd_rcache_evict_changed(rcb.rc);
	pmd_check(n < 0 ? n : 0, "pmd_rcache_evict_changed");
	printf("  event queue: all %d buffers remapped, ", rcb.nr_bufs);
	printf("pmd_rcache_evict_changed() evicted %d (%lu stale events), ",
	       n, st->stale_events);
	printf("%u entries left\n", pmd_rcache_size(rcb.rc));
}

/*
 * A full cache evicts its least recently used entry: with room for half
 * the buffers, looking them up in turn misses every time, and the last
 * one looked up is still there. 0, or 1 when that is not what happened.
 */
static int rc_capacity(void)
{
	const struct pmd_rcache_stats *st;
	int fd = pmd_open(), i, r, ret, bad;
	unsigned int room = rcb.nr_bufs / 2;
	struct pmd_rcache *rc = pmd_rcache_new(fd, room);
	__u32 h;

	if (!rc)
		pmd_die("pmd_rcache_new");
	for (r = 0; r < 2; r++)
		for (i = 0; i < rcb.nr_bufs; i++)
			pmd_check(pmd_rcache_get(rc, rcb.buf[i].addr,
						 rcb.buf[i].len, &h) < 0 ?
				  -EIO : 0, "rcache get");
	i = rcb.nr_bufs - 1;
	ret = pmd_rcache_get(rc, rcb.buf[i].addr, rcb.buf[i].len, &h);
	st = pmd_rcache_stats(rc);
	bad = ret != PMD_RCACHE_HIT || st->new != 2UL * rcb.nr_bufs ||
	      st->evicted != 2UL * rcb.nr_bufs - room ||
	      pmd_rcache_size(rc) != room;
	printf("  capacity %u: %lu lookups, %lu new, %lu evicted, last one %s%s\n",
	       room, st->lookups, st->new, st->evicted,
	       ret == PMD_RCACHE_HIT ? "a hit" : "not a hit",
	       bad ? " (WRONG)" : "");
	pmd_rcache_free(rc);
	close(fd);
	return bad;
}

static void rc_teardown(void)
{
	int i;

	pmd_rcache_free(rcb.rc);
	for (i = 0; i < MODEL_NR; i++)
		close(rcb.model[i].fd);
	for (i = 0; i < rcb.nr_bufs; i++)
		munmap(rcb.buf[i].addr, rcb.buf[i].len + rcb.guard * PAGE);
	close(rcb.pagemap);
}

/*
 * Run the registration-cache section in a new process (pmd_bench --rcache),
 * as a task's NUMA scan period and delay are set when it starts: that way
 * the scans begin at once and come every scan_period_min_ms or so, and the
 * table above ran undisturbed. Returns its exit status.
 */
static int rcache_process(const char *argv0, int short_mode)
{
	int numa = numa_setup(), status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		pmd_die("fork");
	if (!pid) {
		execl("/proc/self/exe", argv0, "--rcache",
		      short_mode ? "--short" : NULL, (char *)NULL);
		pmd_die("exec /proc/self/exe");
	}
	if (waitpid(pid, &status, 0) != pid)
		pmd_die("waitpid");
	numa_restore(numa);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/*
 * The registration-cache section: @nr_bufs buffers, with a guard page
 * after each if @guard, @nr_ops ops of which @nr_numa are NUMA time.
 * Returns 0, or 1 when pmd_rcache handed out pages that are not the
 * buffer's.
 */
static int bench_rcache(int nr_bufs, int nr_ops, int nr_numa, int guard)
{
	const struct rc_model *m = &rcb.model[MODEL_RCACHE];
	char numa[32];
	int k, i, model, bad;
	__u64 seed = 0x5eedcafe;

	read_text(numa_knobs[0], numa, sizeof(numa));

	memset(&rcb, 0, sizeof(rcb));
	rcb.guard = guard;
	pmd_rng_seed(&rcb.rng, seed);
	rcb.numa_ms = nr_ops > 100 ? 1500 : 500;
	rc_map_buffers(nr_bufs);
	rc_setup();
	for (k = 0; k < nr_ops; k++) {
		run_op(pick_op(k, nr_ops, nr_numa));
		/* Each model goes first in turn. */
		for (i = 0; i < MODEL_NR; i++) {
			model = (k + i) % MODEL_NR;
			if (model != MODEL_PAGEMAP || rcb.have_pfns)
				passes[model](&rcb.model[model]);
		}
	}
	printf("\nregistration caches: %d buffers of 64 KiB to 2 MiB, ", nr_bufs);
	printf("%d ops (seed %#llx), each followed by a lookup of every buffer\n",
	       nr_ops, (unsigned long long)seed);
	printf("  %s\n", guard ?
	       "a guard page after each buffer: each one a VMA of its own" :
	       "buffers adjacent: one VMA, split by each mprotect and remap");
	printf("  kernel.numa_balancing=%.1s, %d ms per numa op\n",
	       numa[0] ? numa : "-", rcb.numa_ms);
	rc_print_invals();
	rc_print_models();
	rc_hit_loop();
	rc_events();
	bad = rc_capacity();
	rc_teardown();
	printf("rcache (%s): spurious %.1f %% of misses (target <= 5 %%), ",
	       guard ? "own VMAs" : "one VMA", spurious_pct(m));
	if (rcb.have_pfns)
		printf("stale hits %lu\n", m->stale);
	else
		printf("stale hits n/a (not root)\n");
	if (m->bad)
		printf("rcache: %lu misses handed out pages that are not the buffer's\n",
		       m->bad);
	return m->stale || m->bad || bad;
}

/* The section over one merged VMA, then over a VMA per buffer. */
static int rcache_both(int short_mode)
{
	int nr = short_mode ? 8 : RC_MAX_BUFS, ops = short_mode ? 24 : 240;
	int numa = short_mode ? 1 : 4;

	return bench_rcache(nr, ops, numa, 0) | bench_rcache(nr, ops, numa, 1);
}

int main(int argc, char **argv)
{
	static const char *const thp_modes[] = { "never", "always" };
	int short_mode = argc > 1 && !strcmp(argv[argc - 1], "--short");
	int nr_sizes = short_mode ? 3 : 4, repeats = short_mode ? 5 : 15;
	double m[2][4][M_NR], (*big)[M_NR], (*small)[M_NR];
	struct io_uring_params params = { 0 };
	int t, s, i;

	if (argc > 1 && !strcmp(argv[1], "--rcache"))
		return rcache_both(short_mode);
	pmd_fd = pmd_open();
	status_area = pmd_status_map(pmd_fd);
	ring_fd = syscall(__NR_io_uring_setup, 4, &params);
	if (ring_fd < 0)
		pmd_die("io_uring_setup");

	printf("pmd_bench: minimum of %d repeats, microseconds\n", repeats);
	printf("%-6s %-5s", "thp", "size");
	for (i = 0; i < M_NR; i++)
		printf(" %11s", metric_names[i]);
	printf("\n");
	for (t = 0; t < 2; t++) {
		set_thp(thp_modes[t]);
		for (s = 0; s < nr_sizes; s++) {
			bench_size(all_sizes[s], repeats, m[t][s]);
			printf("%-6s %-5s", thp_modes[t], size_names[s]);
			for (i = 0; i < M_NR; i++)
				printf(" %11.3f", m[t][s][i]);
			printf("\n");
			fflush(stdout);
		}
	}

	for (t = 0; t < 2; t++) {
		big = &m[t][nr_sizes - 1];
		small = &m[t][0];
		printf("\nratios, THP %s, largest size %s:\n", thp_modes[t],
		       size_names[nr_sizes - 1]);
		printf("  copy(%s)/copy(4K)          %6.2f  (target <= 1.5)\n",
		       size_names[nr_sizes - 1], (*big)[M_COPY] / (*small)[M_COPY]);
		printf("  copy(%s)/info              %6.2f  (target <= 3)\n",
		       size_names[nr_sizes - 1], (*big)[M_COPY] / (*big)[M_INFO]);
		printf("  spurious/create            %6.2f  (target <= 0.5)\n",
		       (*big)[M_SPURIOUS] / (*big)[M_CREATE]);
		printf("  fresh/create               %6.2f  (target <= 1.2)\n",
		       (*big)[M_FRESH] / (*big)[M_CREATE]);
		printf("  fresh/create_new           %6.2f  (the same over the same memory)\n",
		       (*big)[M_FRESH] / (*big)[M_CREATE_NEW]);
		printf("  create/uring_reg           %6.2f  (target <= 1.0)\n",
		       (*big)[M_CREATE] / (*big)[M_URING_REG]);
		printf("  status/info                %6.4f  (target <= 0.05)\n",
		       (*big)[M_STATUS] / (*big)[M_INFO]);
	}
	set_thp("never");
	memory_per_page(all_sizes[nr_sizes - 2], all_sizes[nr_sizes - 1]);
	fflush(stdout);
	bench_batch(15);
	return rcache_process(argv[0], short_mode);
}
