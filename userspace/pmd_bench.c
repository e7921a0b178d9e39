// SPDX-License-Identifier: GPL-2.0
/*
 * pmd_bench: what the copy constructor and its peers cost, measured side by
 * side in one boot. For each buffer size, with THP off and then on, it takes
 * the minimum over repeats (alternating which of pmd and io_uring goes
 * first) of:
 *   create          PMD_IOC_CREATE of a persistent, device-writes descriptor
 *   copy            PMD_IOC_COPY with nothing changed (the fast path)
 *   spurious        PMD_IOC_COPY after mprotect RW->RO->RW (compare, original)
 *   fresh           PMD_IOC_COPY after munmap + mmap + touch (a new descriptor)
 *   release         PMD_IOC_RELEASE of the last reference (unpin)
 *   info            PMD_IOC_INFO, the floor of any ioctl
 *   status          one load of the handle's status word
 *   uring_reg       io_uring_register(IORING_REGISTER_BUFFERS) of the buffer
 *   uring_unreg     io_uring_register(IORING_UNREGISTER_BUFFERS)
 *   create_new      create over the replacement memory that fresh pinned
 * and prints a table, the ratios the project targets, and the kernel memory
 * a descriptor costs per page. Times are in microseconds; under TCG only the
 * ratios mean anything.
 *
 * usage: pmd_bench [--short]   (--short: up to 64 MiB, 5 repeats)
 */
#define _GNU_SOURCE
#include <linux/io_uring.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "lib/libpmd.h"

#define HUGE_SIZE (2UL << 20)
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
	struct pmd_info info;
	__u32 h, c;
	double t;
	int i;

	t = now_us();
	h = pmd_create(pmd_fd, buf, len, BENCH_FLAGS);
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

	if (mprotect(buf, len, PROT_READ) ||
	    mprotect(buf, len, PROT_READ | PROT_WRITE))
		pmd_die("mprotect");
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

	pmd_check(pmd_remap(buf, len), "remap");
	touch(buf, len, 2);
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
	h = pmd_create(pmd_fd, buf, len, BENCH_FLAGS);
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
	size_t map_len;
	void *map;
	char *buf;
	int r, i;

	for (i = 0; i < M_NR; i++)
		m[i] = -1;
	buf = map_buffer(len, &map, &map_len);
	for (r = 0; r < repeats; r++) {
		touch(buf, len, 1);
		if (r & 1) {
			bench_uring(buf, len, m);
			bench_pmd(buf, len, m);
		} else {
			bench_pmd(buf, len, m);
			touch(buf, len, 1);
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

int main(int argc, char **argv)
{
	static const char *const thp_modes[] = { "never", "always" };
	int short_mode = argc > 1 && !strcmp(argv[1], "--short");
	int nr_sizes = short_mode ? 3 : 4, repeats = short_mode ? 5 : 15;
	double m[2][4][M_NR], (*big)[M_NR], (*small)[M_NR];
	struct io_uring_params params = { 0 };
	int t, s, i;

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
	return 0;
}
