// SPDX-License-Identifier: GPL-2.0
/*
 * pmd_faultinject: fail the n-th allocation of an operation, for every n,
 * as tools/testing/selftests/iommu/iommufd_fail_nth.c does: arm
 * /proc/thread-self/fail-nth with n, run the operation, and go on until it
 * completes without reaching the n-th fault point. Every injected failure
 * must come back as a clean errno with nothing left pinned or charged.
 * Needs a kernel with FAULT_INJECTION, FAILSLAB, FAIL_PAGE_ALLOC and debugfs
 * (the dev VM's debug kernel). Prints, per operation, the fault points
 * reached, the errnos, and the pmdesc functions the failures were injected
 * under (from the kernel log).
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

#define PMD_RW (PMD_F_PERSISTENT | PMD_F_DEVICE_READS | PMD_F_DEVICE_WRITES)
#define NPAGES 8

static size_t page_size;
static char *buf;
static int fd, fail_nth_fd;

static void die(const char *what)
{
	fprintf(stderr, "pmd_faultinject: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void sysfs_write(const char *path, const char *val)
{
	int f = open(path, O_WRONLY);

	if (f < 0 || write(f, val, strlen(val)) < 0)
		die(path);
	close(f);
}

/* Let fail-nth fail any allocation, sleeping or not, of any order. */
static void setup_fault_injection(void)
{
	static const char *const attrs[] = { "failslab", "fail_page_alloc" };
	char path[128];
	int i;

	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "/sys/kernel/debug/%s/ignore-gfp-wait",
			 attrs[i]);
		sysfs_write(path, "N");
		snprintf(path, sizeof(path), "/sys/kernel/debug/%s/verbose",
			 attrs[i]);
		sysfs_write(path, "2");
	}
	sysfs_write("/sys/kernel/debug/fail_page_alloc/min-order", "0");
	fail_nth_fd = open("/proc/thread-self/fail-nth", O_RDWR);
	if (fail_nth_fd < 0)
		die("/proc/thread-self/fail-nth");
}

static void arm(int n)
{
	char val[16];
	int len = snprintf(val, sizeof(val), "%d", n);

	if (pwrite(fail_nth_fd, val, len, 0) != len)
		die("writing fail-nth");
}

/* Disarm; return whether the n-th fault point was reached. */
static int disarm(void)
{
	char val[16] = "";

	if (pread(fail_nth_fd, val, sizeof(val) - 1, 0) < 0)
		die("read fail-nth");
	if (pwrite(fail_nth_fd, "0", 1, 0) != 1)
		die("resetting fail-nth");
	return atoi(val) == 0;
}

static int pmd_ioctl(unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static int create(__u32 *handle)
{
	struct pmd_range r[2] = {
		{ .addr = (uintptr_t)buf + 10, .len = 3 * page_size },
		{ .addr = (uintptr_t)buf + 5 * page_size, .len = page_size },
	};
	struct pmd_create c = {
		.size = sizeof(c), .flags = PMD_RW,
		.ranges = (uintptr_t)r, .nr_ranges = 2,
	};
	int ret = pmd_ioctl(PMD_IOC_CREATE, &c);

	*handle = c.handle;
	return ret;
}

static int copy(__u32 handle, __u32 *new_handle)
{
	struct pmd_copy c = { .size = sizeof(c), .handle = handle };
	int ret = pmd_ioctl(PMD_IOC_COPY, &c);

	*new_handle = c.new_handle;
	return ret;
}

static void release(__u32 handle)
{
	struct pmd_release r = { .size = sizeof(r), .handle = handle };

	if (pmd_ioctl(PMD_IOC_RELEASE, &r))
		die("RELEASE");
}

enum scenario { S_OPEN, S_CREATE, S_COPY_FRESH, S_COPY_SPURIOUS, S_INFO,
		S_READ, S_MMAP, NR_SCENARIOS };

static const char *const names[NR_SCENARIOS] = {
	"open+close", "create", "copy (fresh)", "copy (spurious)", "info",
	"read", "mmap status",
};

/* Prepare, then run the operation of @s with fail-nth armed at @n. */
static int run(enum scenario s, int n, int *reached)
{
	char data[64];
	struct pmd_info info = { .size = sizeof(info) };
	struct pmd_rw rw = { .size = sizeof(rw), .buf = (uintptr_t)data,
			     .len = sizeof(data), .offset = page_size - 10 };
	__u32 h = 0, c = 0;
	void *p;
	int ret, f;

	if (s != S_OPEN && s != S_CREATE && create(&h))
		die("CREATE");
	if (s == S_COPY_FRESH)
		madvise(buf + page_size, page_size, MADV_DONTNEED);
	if (s == S_COPY_SPURIOUS &&
	    (mprotect(buf, NPAGES * page_size, PROT_READ) ||
	     mprotect(buf, NPAGES * page_size, PROT_READ | PROT_WRITE)))
		die("mprotect");
	memset(buf, 1, NPAGES * page_size);
	info.handle = h;
	rw.handle = h;

	arm(n);
	switch (s) {
	case S_OPEN:
		f = open("/dev/pmd", O_RDWR);
		ret = f < 0 ? -errno : 0;
		*reached = disarm();
		if (f >= 0)
			close(f);
		return ret;
	case S_CREATE:
		ret = create(&h);
		break;
	case S_COPY_FRESH:
	case S_COPY_SPURIOUS:
		ret = copy(h, &c);
		break;
	case S_INFO:
		ret = pmd_ioctl(PMD_IOC_INFO, &info);
		break;
	case S_READ:
		ret = pmd_ioctl(PMD_IOC_READ, &rw);
		break;
	default:
		p = mmap(NULL, PMD_STATUS_SIZE, PROT_READ, MAP_SHARED, fd, 0);
		ret = p == MAP_FAILED ? -errno : 0;
		*reached = disarm();
		if (p != MAP_FAILED)
			munmap(p, PMD_STATUS_SIZE);
		release(h);
		return ret;
	}
	*reached = disarm();
	if (h && (s != S_CREATE || !ret))
		release(h);
	if (!ret && c)
		release(c);
	return ret;
}

/* Which pmdesc functions the injected failures were under, from dmesg. */
static void print_call_sites(void)
{
	char line[512], seen[4096] = "";
	FILE *f = popen("dmesg", "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *sym = strstr(line, " pmd");
		char *end;

		/* Reliable frames only: "? sym" ones may be stale. */
		if (!sym || !strstr(line, "[pmdesc]") || strstr(line, " ? "))
			continue;
		sym++;
		end = strchr(sym, '+');
		if (!end)
			continue;
		*end = 0;
		if (!strstr(seen, sym) && strlen(seen) + strlen(sym) + 2 < sizeof(seen)) {
			strcat(seen, " ");
			strcat(seen, sym);
		}
	}
	pclose(f);
	printf("  pmdesc functions on the failing paths:%s\n", seen);
}

int main(void)
{
	long pins = pins_held(), injected = 0;
	int s, n, failed = 0;

	page_size = sysconf(_SC_PAGESIZE);
	buf = mmap(NULL, NPAGES * page_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (buf == MAP_FAILED)
		die("mmap");
	setup_fault_injection();
	fd = open("/dev/pmd", O_RDWR);
	if (fd < 0)
		die("/dev/pmd");

	for (s = 0; s < NR_SCENARIOS; s++) {
		int enomem = 0, efault = 0, other = 0, reached = 1;

		for (n = 1; reached && n < 10000; n++) {
			int ret = run(s, n, &reached);

			if (!reached)
				break;
			injected++;
			if (ret == -ENOMEM)
				enomem++;
			else if (ret == -EFAULT)
				efault++;
			else if (ret)
				other++;
			if (pins_held() != pins || vm_pinned_kb() != 0) {
				printf("  %s: leak after failing point %d\n",
				       names[s], n);
				failed = 1;
			}
		}
		printf("  %-16s %3d fault points: %d -ENOMEM, %d -EFAULT,",
		       names[s], n - 1, enomem, efault);
		printf(" %d other errors, %d ignored\n", other,
		       n - 1 - enomem - efault - other);
		if (other)
			failed = 1;
	}
	close(fd);
	if (pins_held() != pins || vm_pinned_kb() != 0) {
		printf("  leak after close\n");
		failed = 1;
	}
	printf("pmd_faultinject: %ld failures injected, pins held %ld (before %ld)\n",
	       injected, pins_held(), pins);
	print_call_sites();
	printf("pmd_faultinject: %s\n", failed ? "FAILED" : "passed");
	return failed;
}
