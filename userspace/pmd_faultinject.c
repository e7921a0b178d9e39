// SPDX-License-Identifier: GPL-2.0
/*
 * pmd_faultinject: fail the n-th allocation of an operation, for every n,
 * as tools/testing/selftests/iommu/iommufd_fail_nth.c does: each
 * TEST_FAIL_NTH runs its operation with /proc/thread-self/fail-nth armed at
 * n = 1, 2, ... until the operation completes without reaching the n-th
 * fault point. Every injected failure must come back as a clean errno
 * (ENOMEM or EFAULT) with nothing left pinned or charged. Needs a kernel
 * with FAULT_INJECTION, FAILSLAB, FAIL_PAGE_ALLOC and debugfs (the dev VM's
 * debug kernel). Logs, per operation, the fault points reached and the
 * errnos; at the end, the pmdesc functions the failures were injected
 * under (from the kernel log).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pmd_test_utils.h"

#define NPAGES 8
/* More fault points than any operation reaches today. */
#define MAX_FAULT_POINTS 10000

static size_t page_size;

/*
 * Let fail-nth fail any allocation, sleeping or not, of any order: 0, or
 * -errno without fault injection.
 */
static int setup_fault_injection(void)
{
	static const char *const attrs[] = {
		"/sys/kernel/debug/failslab/ignore-gfp-wait",
		"/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait",
	};
	static const char *const verbose[] = {
		"/sys/kernel/debug/failslab/verbose",
		"/sys/kernel/debug/fail_page_alloc/verbose",
	};
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(attrs); i++) {
		/* Stack dumps (verbose 2) name the failing call sites. */
		ret = pmd_write_file(attrs[i], "N", 0) ?:
		      pmd_write_file(verbose[i], "2", 0);
		if (ret)
			return ret;
	}
	return pmd_write_file("/sys/kernel/debug/fail_page_alloc/min-order",
			      "0", 0);
}

struct fail_nth_state {
	int proc_fd;
	unsigned int iteration;	/* the n armed; 0: a run without faults */
	bool reached;		/* the n-th fault point was reached */
	unsigned int enomem, efault, ignored;
};

static void fail_nth_first(struct __test_metadata *_metadata,
			   struct fail_nth_state *nth_state)
{
	ASSERT_EQ(0, setup_fault_injection())
		TH_LOG("fault injection is not enabled in this kernel");
	nth_state->proc_fd = open("/proc/thread-self/fail-nth", O_RDWR);
	ASSERT_LE(0, nth_state->proc_fd)
		TH_LOG("/proc/thread-self/fail-nth: %s", strerror(errno));
}

/* Arm fail-nth just before the operation. */
static void __fail_nth_enable(struct __test_metadata *_metadata,
			      struct fail_nth_state *nth_state)
{
	char val[16];
	int len;

	if (!nth_state->iteration)
		return;
	len = snprintf(val, sizeof(val), "%u", nth_state->iteration);
	ASSERT_EQ(len, pwrite(nth_state->proc_fd, val, len, 0));
}

/* Disarm just after it; note whether the n-th fault point was reached. */
static void __fail_nth_disable(struct __test_metadata *_metadata,
			       struct fail_nth_state *nth_state)
{
	char val[16] = "";

	if (!nth_state->iteration)
		return;
	ASSERT_LT(0, pread(nth_state->proc_fd, val, sizeof(val) - 1, 0));
	ASSERT_EQ(1, pwrite(nth_state->proc_fd, "0", 1, 0));
	nth_state->reached = atoi(val) == 0;
}

#define fail_nth_enable() __fail_nth_enable(_metadata, _nth_state)
#define fail_nth_disable() __fail_nth_disable(_metadata, _nth_state)

/*
 * After a run with the n-th fault point armed: a failure injected must have
 * come back as ENOMEM or EFAULT. Return whether to go on with n + 1.
 */
static bool fail_nth_next(struct __test_metadata *_metadata,
			  struct fail_nth_state *nth_state, int result)
{
	ASSERT_GT(MAX_FAULT_POINTS, nth_state->iteration);
	if (nth_state->iteration) {
		if (!nth_state->reached) {
			TH_LOG("%u fault points: %u -ENOMEM, %u -EFAULT, %u ignored",
			       nth_state->iteration - 1, nth_state->enomem,
			       nth_state->efault, nth_state->ignored);
			return false;
		}
		if (result == -ENOMEM)
			nth_state->enomem++;
		else if (result == -EFAULT)
			nth_state->efault++;
		else
			ASSERT_EQ(0, result)
				TH_LOG("fault point %u: %s", nth_state->iteration,
				       strerror(-result));
		nth_state->ignored += !result;
	}
	nth_state->reached = false;
	nth_state->iteration++;
	return true;
}

/* A device file and a populated buffer; no leak may outlive them. */
struct env {
	int fd;
	char *buf;
	size_t len;
	long pins;
};

FIXTURE(fail_nth) {
	struct env env;
};

FIXTURE_SETUP(fail_nth)
{
	self->env.pins = pmd_pins_held();
	self->env.len = NPAGES * page_size;
	self->env.buf = mmap(NULL, self->env.len, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->env.buf);
	self->env.fd = open("/dev/pmd", O_RDWR);
	ASSERT_LE(0, self->env.fd);
}

FIXTURE_TEARDOWN(fail_nth)
{
	close(self->env.fd);
	munmap(self->env.buf, self->env.len);
	EXPECT_EQ(self->env.pins, pmd_pins_held()) TH_LOG("pages left pinned");
	EXPECT_EQ(0, pmd_vm_pinned_kb()) TH_LOG("locked memory left charged");
}

/*
 * A test of the fail_nth fixture whose body is run once without faults (it
 * must succeed), then with each fault point failed in turn, each run in a
 * fresh fixture. The body sees the fixture's struct env as self.
 */
#define TEST_FAIL_NTH(name)							\
	static int test_nth_##name(struct __test_metadata *_metadata,		\
				   struct env *self,				\
				   struct fail_nth_state *_nth_state);		\
	TEST_F(fail_nth, name)							\
	{									\
		struct fail_nth_state nth_state = {};				\
		int test_result = 0;						\
										\
		fail_nth_first(_metadata, &nth_state);				\
		ASSERT_EQ(0, test_nth_##name(_metadata, &self->env,		\
					     &nth_state));			\
		while (fail_nth_next(_metadata, &nth_state, test_result)) {	\
			fail_nth_teardown(_metadata, self, variant);		\
			fail_nth_setup(_metadata, self, variant);		\
			test_result = test_nth_##name(_metadata, &self->env,	\
						      &nth_state);		\
		}								\
	}									\
	static int test_nth_##name(struct __test_metadata *_metadata,		\
				   struct env *self,				\
				   struct fail_nth_state *_nth_state)

/* Two unaligned ranges of the buffer, the second after a gap. */
static int create(int fd, char *buf, __u32 *handle)
{
	struct pmd_range r[2] = {
		{ .addr = (uintptr_t)buf + 10, .len = 3 * page_size },
		{ .addr = (uintptr_t)buf + 5 * page_size, .len = page_size },
	};

	return _pmd_create_ranges(fd, r, 2, PMD_RW, handle);
}

/*
 * COPY with faults, of a descriptor created without; then release all and
 * check, with the file still open, that nothing stays pinned or charged.
 */
static int copy_armed(struct __test_metadata *_metadata, struct env *self,
		      struct fail_nth_state *_nth_state, __u32 h)
{
	__u32 c = 0;
	int ret;

	memset(self->buf, 1, self->len);
	fail_nth_enable();
	ret = _pmd_copy(self->fd, h, &c);
	fail_nth_disable();
	test_pmd_release(self->fd, h);
	if (ret > 0)
		test_pmd_release(self->fd, c);
	EXPECT_EQ(self->pins, pmd_pins_held());
	EXPECT_EQ(0, pmd_vm_pinned_kb());
	return ret < 0 ? ret : 0;
}

TEST_FAIL_NTH(open_close)
{
	int fd, ret;

	fail_nth_enable();
	fd = open("/dev/pmd", O_RDWR);
	ret = fd < 0 ? -errno : 0;
	fail_nth_disable();
	if (fd >= 0)
		close(fd);
	return ret;
}

TEST_FAIL_NTH(create)
{
	__u32 h = 0;
	int ret;

	memset(self->buf, 1, self->len);
	fail_nth_enable();
	ret = create(self->fd, self->buf, &h);
	fail_nth_disable();
	if (!ret)
		test_pmd_release(self->fd, h);
	EXPECT_EQ(self->pins, pmd_pins_held());
	return ret;
}

/* A page of the descriptor replaced: the COPY builds a fresh descriptor. */
TEST_FAIL_NTH(copy_fresh)
{
	__u32 h = 0;

	ASSERT_EQ(0, create(self->fd, self->buf, &h));
	ASSERT_EQ(0, madvise(self->buf + page_size, page_size, MADV_DONTNEED));
	return copy_armed(_metadata, self, _nth_state, h);
}

/* An invalidation that changed nothing: the COPY compares, the original. */
TEST_FAIL_NTH(copy_spurious)
{
	__u32 h = 0;

	ASSERT_EQ(0, create(self->fd, self->buf, &h));
	ASSERT_EQ(0, mprotect(self->buf, self->len, PROT_READ));
	ASSERT_EQ(0, mprotect(self->buf, self->len, PROT_READ | PROT_WRITE));
	return copy_armed(_metadata, self, _nth_state, h);
}

TEST_FAIL_NTH(info)
{
	struct pmd_info info;
	__u32 h = 0;
	int ret;

	ASSERT_EQ(0, create(self->fd, self->buf, &h));
	fail_nth_enable();
	ret = _pmd_info(self->fd, h, &info);
	fail_nth_disable();
	test_pmd_release(self->fd, h);
	return ret;
}

TEST_FAIL_NTH(read)
{
	char data[64];
	__u32 h = 0;
	int ret;

	ASSERT_EQ(0, create(self->fd, self->buf, &h));
	fail_nth_enable();
	ret = _pmd_read(self->fd, h, page_size - 10, data, sizeof(data));
	fail_nth_disable();
	test_pmd_release(self->fd, h);
	return ret;
}

/* The status area, mapped after a persistent handle got its word. */
TEST_FAIL_NTH(mmap_status)
{
	const __u64 *area;
	__u32 h = 0;
	int ret;

	ASSERT_EQ(0, create(self->fd, self->buf, &h));
	fail_nth_enable();
	area = _pmd_status_map(self->fd);
	ret = area ? 0 : -errno;
	fail_nth_disable();
	if (area)
		pmd_status_unmap(area);
	test_pmd_release(self->fd, h);
	return ret;
}

/* A CREATE with a cookie: the handle, its status word, its event. */
TEST_FAIL_NTH(create_cookie)
{
	struct pmd_event ev;
	__u32 h = 0, index = PMD_STATUS_NONE;
	int ret;

	memset(self->buf, 1, self->len);
	fail_nth_enable();
	ret = _pmd_create_cookie(self->fd, self->buf, self->len, PMD_RW, 42,
				 &h, &index);
	fail_nth_disable();
	if (ret)
		return ret;
	EXPECT_NE(PMD_STATUS_NONE, index);
	ASSERT_EQ(0, madvise(self->buf, page_size, MADV_DONTNEED));
	EXPECT_EQ(1, pmd_read_events(self->fd, &ev, 1));
	EXPECT_EQ(42, ev.cookie);
	test_pmd_release(self->fd, h);
	return 0;
}

/* COPY_BATCH of a changed handle (fresh), an unchanged one and a bad one. */
TEST_FAIL_NTH(copy_batch)
{
	struct pmd_copy_entry e[3] = {};
	__u32 changed = 0, same = 0;
	int ret, i;

	ASSERT_EQ(0, create(self->fd, self->buf, &changed));
	ASSERT_EQ(0, _pmd_create(self->fd, self->buf + 7 * page_size,
				 page_size, PMD_RW, &same));
	ASSERT_EQ(0, madvise(self->buf + page_size, page_size, MADV_DONTNEED));
	memset(self->buf, 1, self->len);
	e[0].handle = changed;
	e[1].handle = same;
	e[2].handle = ~0U;
	fail_nth_enable();
	ret = _pmd_copy_batch(self->fd, e, ARRAY_SIZE(e));
	fail_nth_disable();
	test_pmd_release(self->fd, changed);
	test_pmd_release(self->fd, same);
	if (ret)
		return ret;
	for (i = 0; i < (int)ARRAY_SIZE(e); i++)
		if (e[i].result >= 0)
			test_pmd_release(self->fd, e[i].new_handle);
	EXPECT_EQ(-ENOENT, e[2].result);
	EXPECT_EQ(self->pins, pmd_pins_held());
	EXPECT_EQ(0, pmd_vm_pinned_kb());
	/* An entry's own failure is the run's result. */
	return e[0].result < 0 ? e[0].result : e[1].result < 0 ? e[1].result : 0;
}

/* Handles enough that their words fill a status page and start the next. */
TEST_FAIL_NTH(status_second_page)
{
	size_t words = page_size / sizeof(__u64), n;
	__u32 *h = calloc(words, sizeof(*h)), index = 0, last = 0;
	int ret;

	ASSERT_NE(NULL, h);
	memset(self->buf, 1, self->len);
	for (n = 0; n < words; n++)
		ASSERT_EQ(0, _pmd_create(self->fd, self->buf, 1, PMD_RW, &h[n]));
	fail_nth_enable();
	ret = _pmd_create_cookie(self->fd, self->buf, 1, PMD_RW, 7, &last,
				 &index);
	fail_nth_disable();
	if (!ret) {
		EXPECT_LE(words, index);
		test_pmd_release(self->fd, last);
	}
	while (n--)
		test_pmd_release(self->fd, h[n]);
	free(h);
	EXPECT_EQ(self->pins, pmd_pins_held());
	return ret;
}

/*
 * read() of the event queue, two records pending, into a buffer for one.
 * Queueing and reading allocate nothing today, so no fault point is
 * reached; this keeps it so, or checks the ones added.
 */
TEST_FAIL_NTH(read_events)
{
	struct pmd_event ev[2];
	__u32 h[2];
	long n;

	ASSERT_EQ(0, _pmd_create(self->fd, self->buf, page_size, PMD_RW, &h[0]));
	ASSERT_EQ(0, _pmd_create(self->fd, self->buf + page_size, page_size,
				 PMD_RW, &h[1]));
	ASSERT_EQ(0, madvise(self->buf, 2 * page_size, MADV_DONTNEED));
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, O_NONBLOCK));
	fail_nth_enable();
	n = _pmd_read_events(self->fd, ev, 1);
	fail_nth_disable();
	if (n >= 0)
		EXPECT_EQ(1, pmd_read_events(self->fd, ev, 2));
	test_pmd_release(self->fd, h[0]);
	test_pmd_release(self->fd, h[1]);
	return n < 0 ? n : 0;
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
	printf("# pmdesc functions on the failing paths:%s\n", seen);
}

int main(int argc, char **argv)
{
	int ret;

	page_size = sysconf(_SC_PAGESIZE);
	ret = test_harness_run(argc, argv);

	print_call_sites();
	return ret;
}
