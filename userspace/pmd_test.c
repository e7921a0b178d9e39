// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of /dev/pmd driven from userspace: every row of the copy table and
 * every error of the uAPI. Each test runs in its own process (the kselftest
 * harness forks); its teardown closes the device and checks that nothing
 * stays pinned or charged.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "pmd_test_utils.h"
#include "lib/pmd_rcache.h"

#define NPAGES 4

static size_t page_size;

static void fill(void *buf, size_t len, unsigned char seed)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = seed + i * 7;
}

/*
 * Run @fn in a child process, which exits 0 unless a CHILD_CHECK() in @fn
 * failed; return its exit status (0 for success).
 */
static int in_child(void (*fn)(int fd, void *buf, size_t len), int fd,
		    void *buf, size_t len)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		fn(fd, buf, len);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* Leave root behind: an unprivileged user without CAP_IPC_LOCK. */
static int drop_privileges(rlim_t memlock)
{
	struct rlimit rl = { .rlim_cur = memlock, .rlim_max = memlock };

	if (setrlimit(RLIMIT_MEMLOCK, &rl))
		return -1;
	return setgid(65534) || setuid(65534) ? -1 : 0;
}

/* Open /dev/pmd into *@fd and map @len bytes of private memory, filled. */
static char *open_with_buffer(struct __test_metadata *_metadata, int *fd,
			      size_t len)
{
	char *buf;

	*fd = open("/dev/pmd", O_RDWR);
	ASSERT_LE(0, *fd) TH_LOG("open /dev/pmd: %s", strerror(errno));
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	fill(buf, len, 1);
	return buf;
}

/* Close @fd; then no page may stay pinned beyond @pins, nothing charged. */
static void close_without_leaks(struct __test_metadata *_metadata, int fd,
				long pins)
{
	close(fd);
	EXPECT_EQ(pins, pmd_pins_held()) TH_LOG("pages left pinned");
	EXPECT_EQ(0, pmd_vm_pinned_kb()) TH_LOG("locked memory left charged");
}

FIXTURE(pmd) {
	int fd;
	char *buf;
	size_t len;
	long pins;
};

FIXTURE_SETUP(pmd)
{
	self->pins = pmd_pins_held();
	self->len = NPAGES * page_size;
	self->buf = open_with_buffer(_metadata, &self->fd, self->len);
}

FIXTURE_TEARDOWN(pmd)
{
	close_without_leaks(_metadata, self->fd, self->pins);
}

/* Copy table: nothing done, or data written: the original. */
TEST_F(pmd, copy_unchanged_is_original)
{
	struct pmd_info info;
	__u32 h = 0, c = 0;

	test_pmd_create(self->fd, self->buf, self->len, PMD_RW, &h);
	test_pmd_copy(PMD_COPY_ORIGINAL, self->fd, h, &c);
	ASSERT_EQ(h, c);
	fill(self->buf, self->len, 9);
	test_pmd_copy(PMD_COPY_ORIGINAL, self->fd, h, &c);
	test_pmd_info(self->fd, h, &info);
	ASSERT_EQ(3, info.refs);
	ASSERT_EQ(PMD_RW, info.flags);
	ASSERT_EQ(1, info.nr_ranges);
	ASSERT_EQ(self->len, info.length);
	ASSERT_EQ(NPAGES, info.nr_pages);
	EXPECT_EQ(NPAGES * page_size / 1024, pmd_vm_pinned_kb());
	test_pmd_release(self->fd, h);
	test_pmd_release(self->fd, h);
	test_pmd_info(self->fd, h, &info);
	ASSERT_EQ(1, info.refs);
	test_pmd_release(self->fd, h);
	ASSERT_EQ(-ENOENT, _pmd_info(self->fd, h, &info));
	ASSERT_EQ(0, pmd_vm_pinned_kb());
}

/* Copy table: mprotect(PROT_READ) and back: the original. */
TEST_F(pmd, copy_after_mprotect_is_original)
{
	__u32 h = 0, c = 0;

	test_pmd_create(self->fd, self->buf, self->len, PMD_RW, &h);
	ASSERT_EQ(0, mprotect(self->buf, self->len, PROT_READ));
	ASSERT_EQ(0, mprotect(self->buf, self->len, PROT_READ | PROT_WRITE));
	test_pmd_copy(PMD_COPY_ORIGINAL, self->fd, h, &c);
	fill(self->buf, self->len, 3);
	test_pmd_copy(PMD_COPY_ORIGINAL, self->fd, h, &c);
}

static void child_writes(int fd, void *buf, size_t len)
{
	fill(buf, len, 77);
}

/* Copy table: fork, then parent and child write: the original. */
TEST_F(pmd, copy_after_fork_is_original)
{
	__u32 h = 0, c = 0;

	test_pmd_create(self->fd, self->buf, self->len, PMD_RW, &h);
	ASSERT_EQ(0, in_child(child_writes, self->fd, self->buf, self->len));
	fill(self->buf, self->len, 5);
	test_pmd_copy(PMD_COPY_ORIGINAL, self->fd, h, &c);
}

/* Copy table: munmap only: -EFAULT. */
TEST_F(pmd, copy_after_munmap_fails)
{
	__u32 h = 0, c = 0;

	test_pmd_create(self->fd, self->buf, self->len, PMD_RW, &h);
	ASSERT_EQ(0, munmap(self->buf + page_size, page_size));
	test_err_pmd_copy(EFAULT, self->fd, h, &c);
}

static char *map_memfd(int mfd, void *addr, size_t len)
{
	return mmap(addr, len, PROT_READ | PROT_WRITE,
		    MAP_SHARED | (addr ? MAP_FIXED : 0), mfd, 0);
}

/* A new memfd of @len bytes in *@mfd, mapped shared and filled. */
static char *memfd_buffer(struct __test_metadata *_metadata, int *mfd,
			  size_t len, unsigned char seed)
{
	char *p;

	*mfd = memfd_create("pmd-test", 0);
	ASSERT_LE(0, *mfd);
	ASSERT_EQ(0, ftruncate(*mfd, len));
	p = map_memfd(*mfd, NULL, len);
	ASSERT_NE(MAP_FAILED, p);
	fill(p, len, seed);
	return p;
}

/*
 * The changes of the copy table that give a fresh descriptor, one variant
 * each: the buffer (private anonymous memory, or a shared memfd) is
 * described by a persistent descriptor, then changed. The change keeps
 * memory mapped at the buffer's address.
 */
struct changed {
	int fd;
	char *buf;
	size_t len;
	int mfd;
	char *dst;	/* where MREMAP moves the buffer */
	__u32 h;	/* the descriptor over the buffer */
};

FIXTURE(change) {
	struct changed t;
	long pins;
};

typedef void (*change_fn)(struct __test_metadata *_metadata,
			  struct changed *t, int page);

FIXTURE_VARIANT(change) {
	change_fn change;
	int page;	/* the page changed, for changes of one page */
	bool memfd;	/* a shared memfd rather than private memory */
	bool touch;	/* write the new memory before the COPY */
};

FIXTURE_SETUP(change)
{
	self->pins = pmd_pins_held();
	self->t.len = NPAGES * page_size;
	self->t.mfd = -1;
	if (variant->memfd) {
		self->t.fd = open("/dev/pmd", O_RDWR);
		ASSERT_LE(0, self->t.fd);
		self->t.buf = memfd_buffer(_metadata, &self->t.mfd, self->t.len, 4);
	} else {
		self->t.buf = open_with_buffer(_metadata, &self->t.fd, self->t.len);
	}
	self->t.dst = mmap(NULL, self->t.len, PROT_NONE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->t.dst);
	test_pmd_create(self->t.fd, self->t.buf, self->t.len, PMD_RW, &self->t.h);
}

FIXTURE_TEARDOWN(change)
{
	close_without_leaks(_metadata, self->t.fd, self->pins);
	munmap(self->t.dst, self->t.len);
	munmap(self->t.buf, self->t.len);
	if (self->t.mfd >= 0)
		close(self->t.mfd);
}

/* madvise(MADV_DONTNEED) of one page. */
static void change_dontneed(struct __test_metadata *_metadata,
			    struct changed *t, int page)
{
	ASSERT_EQ(0, madvise(t->buf + page * page_size, page_size,
			     MADV_DONTNEED));
}

/* munmap, then an anonymous MAP_FIXED mmap at the same address. */
static void change_remap(struct __test_metadata *_metadata,
			 struct changed *t, int page)
{
	ASSERT_EQ(0, pmd_remap(t->buf, t->len));
}

/*
 * mremap the range away (a COPY then faults: nothing is mapped), then new
 * memory at the old address.
 */
static void change_mremap(struct __test_metadata *_metadata,
			  struct changed *t, int page)
{
	__u32 c;

	ASSERT_EQ(t->dst, mremap(t->buf, t->len, t->len,
				 MREMAP_MAYMOVE | MREMAP_FIXED, t->dst));
	test_err_pmd_copy(EFAULT, t->fd, t->h, &c);
	ASSERT_EQ(t->buf, mmap(t->buf, t->len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
}

/* fallocate(PUNCH_HOLE) of one page of the shared memfd. */
static void change_punch_hole(struct __test_metadata *_metadata,
			      struct changed *t, int page)
{
	ASSERT_EQ(0, fallocate(t->mfd, FALLOC_FL_PUNCH_HOLE |
			       FALLOC_FL_KEEP_SIZE, page * page_size,
			       page_size));
}

FIXTURE_VARIANT_ADD(change, dontneed_page0) {
	.change = change_dontneed, .page = 0,
};

FIXTURE_VARIANT_ADD(change, dontneed_page1) {
	.change = change_dontneed, .page = 1,
};

FIXTURE_VARIANT_ADD(change, dontneed_page2) {
	.change = change_dontneed, .page = 2,
};

FIXTURE_VARIANT_ADD(change, dontneed_page3) {
	.change = change_dontneed, .page = 3,
};

FIXTURE_VARIANT_ADD(change, remap) {
	.change = change_remap,
};

FIXTURE_VARIANT_ADD(change, remap_touched) {
	.change = change_remap, .touch = true,
};

FIXTURE_VARIANT_ADD(change, mremap) {
	.change = change_mremap,
};

FIXTURE_VARIANT_ADD(change, memfd_punch_hole) {
	.change = change_punch_hole, .page = 1, .memfd = true,
};

/*
 * Copy table: the original before the change; a fresh descriptor after it.
 * The original reads the old data, the fresh copy the new.
 */
TEST_F(change, copy_is_fresh)
{
	char *old = malloc(self->t.len), *got = malloc(self->t.len);
	struct pmd_info info;
	__u32 c = 0;

	ASSERT_NE(NULL, old);
	ASSERT_NE(NULL, got);
	memcpy(old, self->t.buf, self->t.len);
	test_pmd_copy(PMD_COPY_ORIGINAL, self->t.fd, self->t.h, &c);
	ASSERT_EQ(self->t.h, c);
	test_pmd_release(self->t.fd, c);
	variant->change(_metadata, &self->t, variant->page);
	if (variant->touch)
		fill(self->t.buf, self->t.len, 200);
	test_pmd_copy(PMD_COPY_FRESH, self->t.fd, self->t.h, &c);
	ASSERT_NE(self->t.h, c);
	test_pmd_info(self->t.fd, c, &info);
	ASSERT_EQ(1, info.refs);
	ASSERT_EQ(PMD_RW, info.flags);
	ASSERT_EQ(self->t.len, info.length);
	test_pmd_read(self->t.fd, self->t.h, 0, got, self->t.len);
	ASSERT_EQ(0, memcmp(got, old, self->t.len));
	test_pmd_read(self->t.fd, c, 0, got, self->t.len);
	ASSERT_EQ(0, memcmp(got, self->t.buf, self->t.len));
	test_pmd_release(self->t.fd, self->t.h);
	test_pmd_release(self->t.fd, c);
	free(old);
	free(got);
}

/* Every change of the copy table moves the handle's status word. */
TEST_F(change, status_word_moves)
{
	const __u64 *status = test_pmd_status_map(self->t.fd);
	__u32 idx = pmd_status_index(self->t.fd, self->t.h), c;
	__u64 w;

	ASSERT_NE(PMD_STATUS_NONE, idx);
	w = pmd_status_word(status, idx);
	test_pmd_copy(PMD_COPY_ORIGINAL, self->t.fd, self->t.h, &c);
	variant->change(_metadata, &self->t, variant->page);
	ASSERT_NE(w, pmd_status_word(status, idx))
		TH_LOG("the change did not move the word");
	test_pmd_release(self->t.fd, self->t.h);
	test_pmd_release(self->t.fd, self->t.h);
	ASSERT_EQ(0, pmd_status_unmap(status));
}

/*
 * Copy table: shared memfd, munmap, then mmap the same file pages at the
 * same address: the same memory, so the original.
 */
TEST_F(pmd, memfd_remap_is_original)
{
	int mfd;
	char *p = memfd_buffer(_metadata, &mfd, self->len, 6);
	__u32 h = 0, c = 0;

	test_pmd_create(self->fd, p, self->len, PMD_RW, &h);
	ASSERT_EQ(0, munmap(p, self->len));
	ASSERT_EQ(p, map_memfd(mfd, p, self->len));
	test_pmd_copy(PMD_COPY_ORIGINAL, self->fd, h, &c);
	ASSERT_EQ(0, munmap(p, self->len));
	close(mfd);
}

/* Copy table: a range over a transparent huge page, nothing done: original. */
TEST_F(pmd, thp_is_original)
{
	size_t huge = 2UL << 20, i, npages = huge / page_size;
	__u64 *pfns = calloc(npages, sizeof(*pfns));
	char *map, *p;
	__u32 h = 0, c = 0;

	ASSERT_NE(NULL, pfns);
	map = mmap(NULL, 2 * huge, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	p = (char *)(((uintptr_t)map + huge - 1) & ~(huge - 1));
	ASSERT_EQ(0, madvise(p, huge, MADV_HUGEPAGE));
	fill(p, huge, 8);
	test_pmd_create(self->fd, p, huge, PMD_RW, &h);
	ASSERT_EQ(0, _pmd_pfns(self->fd, h, 0, npages, pfns));
	for (i = 1; i < npages; i++)
		ASSERT_EQ(pfns[0] + i, pfns[i]) TH_LOG("not one huge page");
	ASSERT_EQ(0, pfns[0] % npages);
	test_pmd_copy(PMD_COPY_ORIGINAL, self->fd, h, &c);
	ASSERT_EQ(0, munmap(map, 2 * huge));
	free(pfns);
}

/* PFNS returns what /proc/self/pagemap says backs each page. */
TEST_F(pmd, pfns_match_pagemap)
{
	int pm = open("/proc/self/pagemap", O_RDONLY);
	__u64 pfns[NPAGES], entry;
	__u32 h;
	int i;

	ASSERT_LE(0, pm);
	test_pmd_create(self->fd, self->buf, self->len, PMD_RW, &h);
	ASSERT_EQ(0, _pmd_pfns(self->fd, h, 0, NPAGES, pfns));
	for (i = 0; i < NPAGES; i++) {
		off_t off = ((uintptr_t)self->buf / page_size + i) * 8;

		ASSERT_EQ(8, pread(pm, &entry, 8, off));
		ASSERT_EQ(entry & ((1ULL << 55) - 1), pfns[i]);
	}
	ASSERT_EQ(-EINVAL, _pmd_pfns(self->fd, h, 1, NPAGES, pfns));
	ASSERT_EQ(-EINVAL, _pmd_pfns(self->fd, h, NPAGES + 1, 0, pfns));
	close(pm);
}

static void child_pfns(int fd, void *buf, size_t len)
{
	__u64 pfn;
	__u32 h;

	/* A new file of an unprivileged process: its own mm, no CAP_SYS_ADMIN. */
	CHILD_CHECK(!drop_privileges(1 << 20));
	fd = open("/dev/pmd", O_RDWR);
	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(!_pmd_create(fd, buf, len, PMD_RW, &h));
	CHILD_CHECK(_pmd_pfns(fd, h, 0, 1, &pfn) == -EPERM);
}

TEST_F(pmd, pfns_need_cap_sys_admin)
{
	ASSERT_EQ(0, in_child(child_pfns, self->fd, self->buf, page_size));
}

static void child_uses_parent_fd(int fd, void *buf, size_t len)
{
	struct pmd_info info;
	__u32 h;

	CHILD_CHECK(_pmd_create(fd, buf, len, PMD_RW, &h) == -EPERM);
	CHILD_CHECK(_pmd_info(fd, 1, &info) == -EPERM);
}

/* The file is bound to the opener's mm: a forked child gets -EPERM. */
TEST_F(pmd, forked_child_gets_eperm)
{
	__u32 h;

	test_pmd_create(self->fd, self->buf, self->len, PMD_RW, &h);
	ASSERT_EQ(1, h);
	ASSERT_EQ(0, in_child(child_uses_parent_fd, self->fd, self->buf,
			      self->len));
}

static void child_over_memlock(int fd, void *buf, size_t len)
{
	__u32 h = 0, c = 0;

	CHILD_CHECK(!drop_privileges(2 * page_size));
	fd = open("/dev/pmd", O_RDWR);
	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(_pmd_create(fd, buf, len, PMD_RW, &h) == -ENOMEM);
	CHILD_CHECK(pmd_vm_pinned_kb() == 0);
	CHILD_CHECK(!_pmd_create(fd, buf, 2 * page_size, PMD_RW, &h));
	/* A second descriptor of the same pages is charged again. */
	CHILD_CHECK(_pmd_create(fd, buf, page_size, PMD_RW, &c) == -ENOMEM);
	/* The original needs no new charge; a fresh copy would. */
	CHILD_CHECK(_pmd_copy(fd, h, &c) == PMD_COPY_ORIGINAL);
	madvise(buf, page_size, MADV_DONTNEED);
	CHILD_CHECK(_pmd_copy(fd, h, &c) == -ENOMEM);
	/* Nor do more files help: the charge is the user's. */
	c = open("/dev/pmd", O_RDWR);
	CHILD_CHECK(_pmd_create(c, buf, page_size, PMD_RW, &h) == -ENOMEM);
	close(c);
	close(fd);
	CHILD_CHECK(pmd_vm_pinned_kb() == 0);
}

static int send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, byte = 0;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))], byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cmsg;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	return fd;
}

/*
 * In a new process of uid 65534 with RLIMIT_MEMLOCK of @limit bytes,
 * create a descriptor of @len bytes; return 0 or the positive errno.
 */
static int unprivileged_create(void *buf, size_t len, size_t limit)
{
	int status, fd;
	pid_t pid = fork();
	__u32 h;

	if (!pid) {
		fd = open("/dev/pmd", O_RDWR);
		if (fd < 0 || drop_privileges(limit))
			_exit(255);
		_exit(-_pmd_create(fd, buf, len, PMD_RW, &h));
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 255;
	return WEXITSTATUS(status);
}

/*
 * An unprivileged owner creates a descriptor, passes its file over
 * SCM_RIGHTS to another process and exits. The receiver gets -EPERM; the
 * descriptor stays pinned and charged to the owner's user while the file is
 * held, and both go with the receiver's close.
 */
static void child_owner_exits(int unused, void *buf, size_t len)
{
	long pins = pmd_pins_held();
	struct pmd_info info;
	int sv[2], status, fd;
	pid_t owner;
	__u32 h;

	CHILD_CHECK(!socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	owner = fork();
	if (!owner) {
		fd = open("/dev/pmd", O_RDWR);
		if (fd < 0 || drop_privileges(len) ||
		    _pmd_create(fd, buf, len, PMD_RW, &h) || send_fd(sv[0], fd))
			_exit(1);
		_exit(0);
	}
	fd = recv_fd(sv[1]);
	CHILD_CHECK(waitpid(owner, &status, 0) == owner && !status && fd >= 0);
	CHILD_CHECK(_pmd_info(fd, 1, &info) == -EPERM);
	CHILD_CHECK(pmd_pins_held() - pins == (long)(len / page_size));
	CHILD_CHECK(unprivileged_create(buf, page_size, len) == ENOMEM);
	close(fd);
	CHILD_CHECK(pmd_pins_held() == pins);
	CHILD_CHECK(!unprivileged_create(buf, len, len));
}

TEST_F(pmd, owner_exit_and_scm_rights)
{
	ASSERT_EQ(0, in_child(child_owner_exits, self->fd, self->buf,
			      2 * page_size));
}

/* Without CAP_IPC_LOCK, RLIMIT_MEMLOCK bounds the pins: -ENOMEM. */
TEST_F(pmd, memlock_limit_gives_enomem)
{
	ASSERT_EQ(0, in_child(child_over_memlock, self->fd, self->buf,
			      self->len));
}

/* READ/WRITE go to the pinned pages; WRITE needs PMD_F_DEVICE_WRITES. */
TEST_F(pmd, read_write_through_descriptor)
{
	char msg[] = "through the descriptor", got[sizeof(msg)];
	__u32 ro, rw;

	ASSERT_EQ(0, _pmd_create(self->fd, self->buf + 5, self->len - 10,
				 PMD_F_DEVICE_READS, &ro));
	ASSERT_EQ(0, _pmd_create(self->fd, self->buf + 5, self->len - 10,
				 PMD_RW, &rw));
	ASSERT_EQ(-EPERM, _pmd_write(self->fd, ro, 0, msg, 1));
	ASSERT_EQ(0, _pmd_write(self->fd, rw, page_size - 10, msg,
				sizeof(msg)));
	ASSERT_EQ(0, memcmp(self->buf + page_size - 5, msg, sizeof(msg)));
	ASSERT_EQ(0, _pmd_read(self->fd, ro, page_size - 10, got,
			       sizeof(got)));
	ASSERT_EQ(0, memcmp(got, msg, sizeof(msg)));
	ASSERT_EQ(-EINVAL, _pmd_read(self->fd, ro, self->len - 10,
				     got, 1));
	ASSERT_EQ(-EINVAL, _pmd_read(self->fd, ro, 1,
				     got, self->len - 10));
	ASSERT_EQ(-EINVAL, _pmd_write(self->fd, rw, ~0ULL, msg, 2));
	ASSERT_EQ(-EFAULT, _pmd_read(self->fd, ro, 0, NULL, 1));
}

TEST_F(pmd, unknown_ioctl_is_enotty)
{
	struct pmd_release r = { .size = sizeof(r) };

	ASSERT_EQ(-ENOTTY, _pmd_ioctl(self->fd, _IO(PMD_TYPE, PMD_CMD_COPY_BATCH + 1),
				      &r));
	ASSERT_EQ(-ENOTTY, _pmd_ioctl(self->fd, _IO(PMD_TYPE, 0), &r));
	ASSERT_EQ(-ENOTTY, _pmd_ioctl(self->fd, _IO('x', PMD_CMD_CREATE), &r));
	ASSERT_EQ(-ENOTTY, _pmd_ioctl(self->fd, _IOW(PMD_TYPE, PMD_CMD_CREATE,
						     struct pmd_create), &r));
}

TEST_F(pmd, create_rejects_bad_arguments)
{
	struct pmd_range r[2] = {
		{ .addr = (uintptr_t)self->buf, .len = page_size },
	};
	struct pmd_range *many = calloc(PMD_MAX_RANGES + 1, sizeof(*many));
	__u32 h;
	int i;

	ASSERT_NE(NULL, many);
	for (i = 0; i <= PMD_MAX_RANGES; i++)
		many[i] = r[0];
	test_err_pmd_create_ranges(EINVAL, self->fd, r, 1, 1U << 3, &h);
	test_err_pmd_create_ranges(EINVAL, self->fd, r, 1, 1U << 31, &h);
	test_err_pmd_create_ranges(EINVAL, self->fd, r, 0, PMD_RW, &h);
	ASSERT_EQ(-EINVAL, _pmd_create_ranges(self->fd, many,
					      PMD_MAX_RANGES + 1, PMD_RW, &h));
	ASSERT_EQ(0, _pmd_create_ranges(self->fd, many, PMD_MAX_RANGES,
					PMD_RW, &h));
	test_pmd_release(self->fd, h);
	/* A zero-length range, alone or after a good one. */
	test_err_pmd_create(EINVAL, self->fd, self->buf, 0, PMD_RW, &h);
	test_err_pmd_create_ranges(EINVAL, self->fd, r, 2, PMD_RW, &h);
	/* addr + len overflows; or lies above the user address limit. */
	r[1].addr = ~0ULL - 10;
	r[1].len = 100;
	test_err_pmd_create_ranges(EINVAL, self->fd, r, 2, PMD_RW, &h);
	r[1].addr = 1ULL << 63;
	r[1].len = page_size;
	test_err_pmd_create_ranges(EINVAL, self->fd, &r[1], 1, PMD_RW, &h);
	test_err_pmd_create_ranges(EFAULT, self->fd, NULL, 1, PMD_RW, &h);
	free(many);
}

TEST_F(pmd, unknown_handle_is_enoent)
{
	__u32 handles[] = { 0, 2, 12345, ~0U }, h, c;
	struct pmd_info info;
	__u64 pfn;
	char byte;
	size_t i;

	test_pmd_create(self->fd, self->buf, self->len, PMD_RW, &h);
	ASSERT_EQ(1, h);
	for (i = 0; i < ARRAY_SIZE(handles); i++) {
		__u32 u = handles[i];

		EXPECT_EQ(-ENOENT, _pmd_copy(self->fd, u, &c));
		EXPECT_EQ(-ENOENT, _pmd_release(self->fd, u));
		EXPECT_EQ(-ENOENT, _pmd_info(self->fd, u, &info));
		EXPECT_EQ(-ENOENT, _pmd_read(self->fd, u, 0, &byte,
					     1));
		EXPECT_EQ(-ENOENT, _pmd_write(self->fd, u, 0,
					      &byte, 1));
		EXPECT_EQ(-ENOENT, _pmd_pfns(self->fd, u, 0, 1, &pfn));
	}
}

/* A handle's references are bounded: -EOVERFLOW, and nothing leaks. */
TEST_F(pmd, copy_refs_are_bounded)
{
	struct pmd_info info;
	__u32 h = 0, c = 0;
	int i;

	test_pmd_create(self->fd, self->buf, page_size, PMD_RW, &h);
	for (i = 1; i < PMD_MAX_HANDLE_REFS; i++)
		test_pmd_copy(PMD_COPY_ORIGINAL, self->fd, h, &c);
	test_err_pmd_copy(EOVERFLOW, self->fd, h, &c);
	test_pmd_info(self->fd, h, &info);
	ASSERT_EQ(PMD_MAX_HANDLE_REFS, info.refs);
	test_pmd_release(self->fd, h);
	test_pmd_copy(PMD_COPY_ORIGINAL, self->fd, h, &c);
	for (i = 0; i < PMD_MAX_HANDLE_REFS; i++)
		test_pmd_release(self->fd, h);
	ASSERT_EQ(-ENOENT, _pmd_info(self->fd, h, &info));
}

TEST_F(pmd, copy_of_non_persistent_is_einval)
{
	__u32 h = 0, c = 0;

	ASSERT_EQ(0, _pmd_create(self->fd, self->buf, self->len,
				 PMD_F_DEVICE_READS | PMD_F_DEVICE_WRITES, &h));
	test_err_pmd_copy(EINVAL, self->fd, h, &c);
}

TEST_F(pmd, unpinnable_pages_are_efault)
{
	char *ro = mmap(NULL, page_size, PROT_READ,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	__u32 h;

	ASSERT_NE(MAP_FAILED, ro);
	test_err_pmd_create(EFAULT, self->fd, ro, page_size, PMD_RW, &h);
	ASSERT_EQ(0, _pmd_create(self->fd, ro, page_size, PMD_F_DEVICE_READS,
				 &h));
	ASSERT_EQ(0, munmap(self->buf + 2 * page_size, page_size));
	ASSERT_EQ(-EFAULT, _pmd_create(self->fd, self->buf, self->len,
				       PMD_F_DEVICE_READS, &h));
	ASSERT_EQ(0, munmap(ro, page_size));
}

/* A VM_IO | VM_PFNMAP mapping: a PCI BAR of the VM's devices. */
TEST_F(pmd, pfnmap_pages_are_efault)
{
	void *bar = MAP_FAILED;
	glob_t g;
	size_t i;
	__u32 h;

	if (glob("/sys/bus/pci/devices/*/resource0", 0, NULL, &g))
		SKIP(return, "no PCI BAR to map");
	for (i = 0; i < g.gl_pathc && bar == MAP_FAILED; i++) {
		int fd = open(g.gl_pathv[i], O_RDWR);

		if (fd >= 0) {
			bar = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
				   MAP_SHARED, fd, 0);
			close(fd);
		}
	}
	globfree(&g);
	if (bar == MAP_FAILED)
		SKIP(return, "no PCI BAR could be mapped");
	ASSERT_EQ(-EFAULT, _pmd_create(self->fd, bar, page_size,
				       PMD_F_DEVICE_READS, &h));
	munmap(bar, page_size);
}

/* copy_struct_from_user() rules on the size field. */
TEST_F(pmd, struct_size_rules)
{
	struct {
		struct pmd_info info;
		__u64 extra[2];
	} big;
	__u32 h;

	test_pmd_create(self->fd, self->buf, self->len, PMD_RW, &h);
	memset(&big, 0, sizeof(big));
	big.info.handle = h;
	big.info.size = sizeof(big.info) - 1;
	ASSERT_EQ(-EINVAL, _pmd_ioctl(self->fd, PMD_IOC_INFO, &big));
	big.info.size = 4;
	ASSERT_EQ(-EINVAL, _pmd_ioctl(self->fd, PMD_IOC_INFO, &big));
	big.info.size = sizeof(big);
	ASSERT_EQ(0, _pmd_ioctl(self->fd, PMD_IOC_INFO, &big));
	ASSERT_EQ(NPAGES, big.info.nr_pages);
	ASSERT_EQ(0, big.extra[0]);
	big.extra[1] = 1;
	ASSERT_EQ(-E2BIG, _pmd_ioctl(self->fd, PMD_IOC_INFO, &big));
	/* Out-fields ignore what they held. */
	big.extra[1] = 0;
	big.info.status_index = 12345;
	ASSERT_EQ(0, _pmd_ioctl(self->fd, PMD_IOC_INFO, &big));
	ASSERT_EQ(0, big.info.status_index);
	ASSERT_EQ(-EFAULT, _pmd_ioctl(self->fd, PMD_IOC_INFO, NULL));
}

/* Several ranges read back end to end. */
TEST_F(pmd, multi_range_reads_end_to_end)
{
	struct pmd_range r[] = {
		{ .addr = (uintptr_t)self->buf + 3 * page_size + 1, .len = 10 },
		{ .addr = (uintptr_t)self->buf + page_size - 2, .len = 4 },
	};
	struct pmd_info info;
	char got[14];
	__u32 h;

	test_pmd_create_ranges(self->fd, r, 2, PMD_RW, &h);
	test_pmd_info(self->fd, h, &info);
	ASSERT_EQ(2, info.nr_ranges);
	ASSERT_EQ(14, info.length);
	ASSERT_EQ(3, info.nr_pages);
	test_pmd_read(self->fd, h, 0, got, sizeof(got));
	ASSERT_EQ(0, memcmp(got, self->buf + 3 * page_size + 1, 10));
	ASSERT_EQ(0, memcmp(got + 10, self->buf + page_size - 2, 4));
}

/* Closing the file drops every reference of every handle. */
TEST_F(pmd, close_releases_everything)
{
	struct pmd_info a, b;
	__u32 h = 0, c = 0;
	int i;

	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, _pmd_create(self->fd, self->buf, self->len,
					 PMD_RW, &h));
	test_pmd_copy(PMD_COPY_ORIGINAL, self->fd, h, &c);
	ASSERT_EQ(0, madvise(self->buf, page_size, MADV_DONTNEED));
	test_pmd_copy(PMD_COPY_FRESH, self->fd, h, &c);
	test_pmd_info(self->fd, h, &a);
	test_pmd_info(self->fd, c, &b);
	ASSERT_NE(a.id, b.id);
	/* Eight descriptors and a fresh copy; the original copy pins nothing. */
	EXPECT_EQ(9 * NPAGES * page_size / 1024, pmd_vm_pinned_kb());
	EXPECT_EQ(self->pins + 9 * NPAGES, pmd_pins_held());
	/* The teardown closes the file and checks. */
}

/* The status area: read-only, one word per persistent handle. */
TEST_F(pmd, status_area_is_read_only)
{
	const __u64 *status = _pmd_status_map(self->fd);
	__u32 h, np;

	ASSERT_NE(NULL, status);
	test_pmd_create(self->fd, self->buf, self->len, PMD_RW, &h);
	ASSERT_EQ(0, pmd_status_index(self->fd, h));
	ASSERT_EQ(0, _pmd_create(self->fd, self->buf, self->len,
				 PMD_F_DEVICE_READS, &np));
	ASSERT_EQ(PMD_STATUS_NONE, pmd_status_index(self->fd, np));
	ASSERT_EQ(-1, mprotect((void *)status, page_size,
			       PROT_READ | PROT_WRITE));
	ASSERT_EQ(EACCES, errno);
	ASSERT_EQ(MAP_FAILED, mmap(NULL, page_size, PROT_READ | PROT_WRITE,
				   MAP_SHARED, self->fd, 0));
	ASSERT_EQ(EPERM, errno);
	ASSERT_EQ(MAP_FAILED, mmap(NULL, page_size, PROT_READ, MAP_SHARED,
				   self->fd, page_size));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(MAP_FAILED, mmap(NULL, PMD_STATUS_MAX_SIZE + page_size,
				   PROT_READ, MAP_SHARED, self->fd, 0));
	ASSERT_EQ(0, pmd_status_unmap(status));
}

struct churn {
	char *buf;
	size_t len;
	atomic_int stop;
	atomic_long started, done;
};

/* Replace the buffer's memory with new memory, over and over. */
static void *churn_buffer(void *arg)
{
	struct churn *ch = arg;

	while (!atomic_load(&ch->stop)) {
		atomic_fetch_add(&ch->started, 1);
		if (mmap(ch->buf, ch->len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) !=
		    ch->buf)
			abort();
		fill(ch->buf, ch->len, 3);
		atomic_fetch_add(&ch->done, 1);
	}
	return NULL;
}

/*
 * The race between an invalidation and a check: while another thread keeps
 * replacing the memory, sample the word and copy; when the copy returned the
 * original, wait for a replacement that started after the sample to
 * complete: the word must have moved. (A status mapping holds the file
 * open, so it is unmapped before the teardown's close.)
 */
TEST_F(pmd, status_word_never_hides_a_change)
{
	const __u64 *status = _pmd_status_map(self->fd);
	struct churn ch = { .buf = self->buf, .len = self->len };
	long originals = 0, fresh = 0, checked = 0, i;
	pthread_t thread;
	__u32 h, c;

	ASSERT_NE(NULL, status);
	test_pmd_create(self->fd, self->buf, self->len, PMD_RW, &h);
	ASSERT_EQ(0, pthread_create(&thread, NULL, churn_buffer, &ch));
	for (i = 0; i < 300; i++) {
		long s0 = atomic_load(&ch.started);
		__u32 idx = pmd_status_index(self->fd, h);
		__u64 w = pmd_status_word(status, idx);
		int r = _pmd_copy(self->fd, h, &c);

		if (r == PMD_COPY_FRESH) {
			fresh++;
			test_pmd_release(self->fd, h);
			h = c;
			continue;
		}
		if (r != PMD_COPY_ORIGINAL) {
			ASSERT_EQ(-EFAULT, r);
			continue;
		}
		originals++;
		test_pmd_release(self->fd, h);
		while (atomic_load(&ch.done) <= s0)
			sched_yield();
		checked++;
		ASSERT_NE(w, pmd_status_word(status, idx)) TH_LOG("a change was hidden");
	}
	atomic_store(&ch.stop, 1);
	pthread_join(thread, NULL);
	ASSERT_EQ(0, pmd_status_unmap(status));
	TH_LOG("%ld copies: %ld original, %ld fresh; %ld checked against a later change",
	       i, originals, fresh, checked);
	ASSERT_LT(0, fresh);
	ASSERT_LT(0, checked);
}

/*
 * A descriptor of the fixture's buffer but its page 1, which is in the
 * notifier's span and in no range: an invalidation of that page is one that
 * changes no recorded page (a spurious one, see spurious_invalidation()).
 */
static void create_around_page1(struct __test_metadata *_metadata, int fd,
				char *buf, size_t len, __u32 *h)
{
	struct pmd_range r[] = {
		{ .addr = (uintptr_t)buf, .len = page_size },
		{ .addr = (uintptr_t)buf + 2 * page_size,
		  .len = len - 2 * page_size },
	};

	ASSERT_EQ(0, _pmd_create_ranges(fd, r, 2, PMD_RW, h));
}

/*
 * New memory at page 1: an unmap, which the kernel tells at once (a
 * MADV_DONTNEED would be settled before madvise() returns, see
 * settled_clear_moves_word_only_for_a_change), so the next COPY compares.
 */
static void spurious_invalidation(struct __test_metadata *_metadata,
				  char *buf)
{
	ASSERT_EQ(0, pmd_remap(buf + page_size, page_size));
}

/* A thread that waits until @arg, a pipe's read end, is closed for writing. */
static void *wait_for_eof(void *arg)
{
	char byte;

	while (read(*(int *)arg, &byte, 1) > 0)
		;
	return NULL;
}

/*
 * A clear invalidation by the only thread of the process is settled before
 * the call returns: the word moves, and the event comes, only if a
 * recorded page changed. A MADV_DONTNEED of the gap between the ranges,
 * and a VMA split beside the buffer (mprotect of its neighbour in one VMA,
 * at an address that is not 2 MiB aligned, invalidates the whole 2 MiB
 * around it), move neither, and COPY gives the original; a MADV_DONTNEED
 * of a recorded page moves both by the time madvise() returns. With a
 * second thread, which could see a new page first, the gap's clear moves
 * the word at once.
 */
TEST_F(pmd, settled_clear_moves_word_only_for_a_change)
{
	const __u64 *status = test_pmd_status_map(self->fd);
	size_t huge = 2UL << 20, len = 16 * page_size;
	char *map = mmap(NULL, 3 * huge, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	__u32 h = 0, a = 0, hi, ai = 0, c = 0;
	struct pmd_stats base, st;
	__u64 hword, aword;
	struct pmd_event ev;
	char *block, *buf;
	pthread_t thread;
	int pipefd[2];

	if (page_size != 4096)
		SKIP(return, "the split's 2 MiB is a PMD of 4 KiB pages");
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, pmd_stats_read(&base)) TH_LOG("no %s", PMD_STATS_PATH);
	create_around_page1(_metadata, self->fd, self->buf, self->len, &h);
	hi = pmd_status_index(self->fd, h);
	hword = pmd_status_word(status, hi);
	ASSERT_EQ(0, madvise(self->buf + page_size, page_size, MADV_DONTNEED));
	EXPECT_EQ(hword, pmd_status_word(status, hi));
	test_pmd_copy(PMD_COPY_ORIGINAL, self->fd, h, &c);

	block = (char *)(((uintptr_t)map + huge - 1) & ~(huge - 1));
	buf = block + len;
	fill(buf, 2 * len, 7);
	ASSERT_EQ(0, _pmd_create_cookie(self->fd, buf, len, PMD_RW, 9, &a,
					&ai));
	aword = pmd_status_word(status, ai);
	ASSERT_EQ(0, mprotect(buf + len, len, PROT_READ));
	ASSERT_EQ(0, pmd_stats_read(&st));
	if (st.inval_clear < base.inval_clear + 2)
		SKIP(return, "this kernel raises no clear for a VMA split");
	EXPECT_EQ(aword, pmd_status_word(status, ai));
	test_pmd_copy(PMD_COPY_ORIGINAL, self->fd, a, &c);
	EXPECT_EQ(0, pmd_read_events(self->fd, &ev, 1));
	EXPECT_LE(base.settles_unchanged + 2, st.settles_unchanged);
	EXPECT_EQ(base.settles_changed, st.settles_changed);

	ASSERT_EQ(0, madvise(buf, page_size, MADV_DONTNEED));
	EXPECT_NE(aword, pmd_status_word(status, ai));
	ASSERT_EQ(1, pmd_read_events(self->fd, &ev, 1));
	EXPECT_EQ(a, ev.handle);
	EXPECT_EQ(9, ev.cookie);
	ASSERT_EQ(0, pmd_stats_read(&st));
	EXPECT_EQ(base.settles_changed + 1, st.settles_changed);

	ASSERT_EQ(0, pipe(pipefd));
	ASSERT_EQ(0, pthread_create(&thread, NULL, wait_for_eof, &pipefd[0]));
	ASSERT_EQ(0, madvise(self->buf + page_size, page_size, MADV_DONTNEED));
	EXPECT_NE(hword, pmd_status_word(status, hi))
		TH_LOG("a clear with two threads was left to a settle");
	close(pipefd[1]);
	pthread_join(thread, NULL);
	close(pipefd[0]);
	test_pmd_release(self->fd, a);
	test_pmd_release(self->fd, a);
	test_pmd_release(self->fd, h);
	test_pmd_release(self->fd, h);
	pmd_status_unmap(status);
	munmap(map, 3 * huge);
}

/* debugfs counters: every descriptor, pin and copy outcome is counted. */
TEST_F(pmd, stats_count_descriptors_and_copies)
{
	struct pmd_stats base, st;
	__u32 h = 0, c = 0, fresh = 0;

	ASSERT_EQ(0, pmd_stats_read(&base)) TH_LOG("no %s", PMD_STATS_PATH);
	create_around_page1(_metadata, self->fd, self->buf, self->len, &h);
	ASSERT_EQ(0, pmd_stats_read(&st));
	EXPECT_EQ(base.live + 1, st.live);
	EXPECT_EQ(base.pinned + NPAGES - 1, st.pinned);

	test_pmd_copy(PMD_COPY_ORIGINAL, self->fd, h, &c);
	ASSERT_EQ(0, pmd_stats_read(&st));
	EXPECT_EQ(base.original + 1, st.original);
	EXPECT_EQ(base.fast + 1, st.fast);

	spurious_invalidation(_metadata, self->buf);
	test_pmd_copy(PMD_COPY_ORIGINAL, self->fd, h, &c);
	ASSERT_EQ(0, pmd_stats_read(&st));
	EXPECT_EQ(base.original + 2, st.original);
	EXPECT_EQ(base.fast + 1, st.fast) TH_LOG("the compare is no fast path");

	ASSERT_EQ(0, pmd_remap(self->buf, self->len));
	test_pmd_copy(PMD_COPY_FRESH, self->fd, h, &fresh);
	ASSERT_EQ(0, munmap(self->buf, self->len));
	test_err_pmd_copy(EFAULT, self->fd, h, &c);
	ASSERT_EQ(0, pmd_stats_read(&st));
	EXPECT_EQ(base.fresh + 1, st.fresh);
	EXPECT_EQ(base.error + 1, st.error);
	EXPECT_EQ(base.live + 2, st.live);
	EXPECT_EQ(base.pinned + 2 * (NPAGES - 1), st.pinned);

	test_pmd_release(self->fd, fresh);
	test_pmd_release(self->fd, h);
	test_pmd_release(self->fd, h);
	test_pmd_release(self->fd, h);
	ASSERT_EQ(0, pmd_stats_read(&st));
	EXPECT_EQ(base.live, st.live);
	EXPECT_EQ(base.pinned, st.pinned);
}

/*
 * Exact signals: events that only change protections cannot replace a
 * pinned page, so they move no status word, queue no event, and leave the
 * copy on its O(1) path. One variant per event, over BUFFERS persistent
 * descriptors, each of its own mapping.
 */
#define BUFFERS 8

struct quiet {
	int fd;
	const __u64 *status;
	char *buf[BUFFERS];
	size_t len;
	__u32 h[BUFFERS];
	__u32 idx[BUFFERS];
	__u64 word[BUFFERS];
};

FIXTURE(quiet) {
	struct quiet t;
	long pins;
};

typedef void (*quiet_fn)(struct __test_metadata *_metadata,
			 struct quiet *t);

FIXTURE_VARIANT(quiet) {
	quiet_fn event;
	/* the pmd_stats counter the event must move, if it must */
	size_t counter;
};

FIXTURE_SETUP(quiet)
{
	int i;

	self->pins = pmd_pins_held();
	self->t.len = NPAGES * page_size;
	self->t.buf[0] = open_with_buffer(_metadata, &self->t.fd, self->t.len);
	self->t.status = test_pmd_status_map(self->t.fd);
	for (i = 1; i < BUFFERS; i++) {
		self->t.buf[i] = mmap(NULL, self->t.len, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, self->t.buf[i]);
		fill(self->t.buf[i], self->t.len, i);
	}
	for (i = 0; i < BUFFERS; i++) {
		ASSERT_EQ(0, _pmd_create_cookie(self->t.fd, self->t.buf[i],
						self->t.len, PMD_RW, i,
						&self->t.h[i], &self->t.idx[i]));
		self->t.word[i] = pmd_status_word(self->t.status,
						  self->t.idx[i]);
	}
}

FIXTURE_TEARDOWN(quiet)
{
	int i;

	pmd_status_unmap(self->t.status);
	close_without_leaks(_metadata, self->t.fd, self->pins);
	for (i = 0; i < BUFFERS; i++)
		munmap(self->t.buf[i], self->t.len);
}

static void quiet_mprotect(struct __test_metadata *_metadata,
			   struct quiet *t)
{
	int i;

	for (i = 0; i < BUFFERS; i++) {
		ASSERT_EQ(0, mprotect(t->buf[i], t->len, PROT_READ));
		ASSERT_EQ(0, mprotect(t->buf[i], t->len,
				      PROT_READ | PROT_WRITE));
	}
}

static void quiet_fork(struct __test_metadata *_metadata, struct quiet *t)
{
	int i;

	for (i = 0; i < BUFFERS; i++)
		ASSERT_EQ(0, in_child(child_writes, t->fd, t->buf[i], t->len));
	for (i = 0; i < BUFFERS; i++)
		fill(t->buf[i], t->len, 11);
}

static void quiet_clear_refs(struct __test_metadata *_metadata,
			     struct quiet *t)
{
	int i;

	ASSERT_EQ(0, pmd_write_file("/proc/self/clear_refs", "4", 0));
	for (i = 0; i < BUFFERS; i++)
		fill(t->buf[i], t->len, 12);
	ASSERT_EQ(0, pmd_write_file("/proc/self/clear_refs", "4", 0));
}

#define NUMA_DEBUGFS "/sys/kernel/debug/sched/numa_balancing/"
#define NUMA_SECONDS 20

/*
 * NUMA_SECONDS of NUMA-balancing scans, as frequent as they go, while the
 * program runs (the scan is task work of a running task) and writes into
 * its buffers.
 */
static void quiet_numa_balancing(struct __test_metadata *_metadata,
				 struct quiet *t)
{
	time_t end = time(NULL) + NUMA_SECONDS;
	unsigned char seed = 0;
	int i;

	if (access("/sys/devices/system/node/node1", F_OK))
		SKIP(return, "one NUMA node: boot the VM with -n 2");
	ASSERT_EQ(0, pmd_write_file("/proc/sys/kernel/numa_balancing", "1", 0));
	ASSERT_EQ(0, pmd_write_file(NUMA_DEBUGFS "scan_delay_ms", "0", 0));
	ASSERT_EQ(0, pmd_write_file(NUMA_DEBUGFS "scan_period_min_ms", "10", 0));
	ASSERT_EQ(0, pmd_write_file(NUMA_DEBUGFS "scan_period_max_ms", "100", 0));
	while (time(NULL) < end)
		for (i = 0; i < BUFFERS; i++)
			fill(t->buf[i], t->len, seed++);
	pmd_write_file("/proc/sys/kernel/numa_balancing", "0", 0);
}

/* The copy while PROT_NONE, by its fast path; and after, unchanged. */
static void quiet_prot_none(struct __test_metadata *_metadata,
			    struct quiet *t)
{
	__u32 c;
	int i;

	for (i = 0; i < BUFFERS; i++) {
		ASSERT_EQ(0, mprotect(t->buf[i], t->len, PROT_NONE));
		test_pmd_copy(PMD_COPY_ORIGINAL, t->fd, t->h[i], &c);
		test_pmd_release(t->fd, c);
	}
	for (i = 0; i < BUFFERS; i++)
		ASSERT_EQ(0, mprotect(t->buf[i], t->len,
				      PROT_READ | PROT_WRITE));
}

FIXTURE_VARIANT_ADD(quiet, mprotect_and_back) {
	.event = quiet_mprotect,
	.counter = offsetof(struct pmd_stats, inval_protection_vma),
};

FIXTURE_VARIANT_ADD(quiet, fork) {
	.event = quiet_fork,
	.counter = offsetof(struct pmd_stats, inval_protection_page),
};

FIXTURE_VARIANT_ADD(quiet, clear_refs) {
	.event = quiet_clear_refs,
	.counter = offsetof(struct pmd_stats, inval_soft_dirty),
};

FIXTURE_VARIANT_ADD(quiet, numa_balancing) {
	.event = quiet_numa_balancing,
	.counter = offsetof(struct pmd_stats, inval_protection_vma),
};

FIXTURE_VARIANT_ADD(quiet, prot_none) {
	.event = quiet_prot_none,
	.counter = offsetof(struct pmd_stats, inval_protection_vma),
};

static long stat_at(const struct pmd_stats *st, size_t offset)
{
	return *(const long *)((const char *)st + offset);
}

/*
 * After the event: no word moved, no event queued, and every COPY is the
 * original by the fast path; the kernel saw the event's invalidations.
 */
TEST_F_TIMEOUT(quiet, moves_no_word_and_copies_fast, 120)
{
	struct pmd_stats base, st;
	struct pmd_event ev;
	__u32 c;
	int i;

	ASSERT_EQ(0, pmd_stats_read(&base));
	variant->event(_metadata, &self->t);
	ASSERT_EQ(0, pmd_stats_read(&st));
	EXPECT_LT(stat_at(&base, variant->counter),
		  stat_at(&st, variant->counter))
		TH_LOG("the event made no invalidation of its kind");
	for (i = 0; i < BUFFERS; i++)
		EXPECT_EQ(self->t.word[i],
			  pmd_status_word(self->t.status, self->t.idx[i]))
			TH_LOG("buffer %d: the word moved", i);
	EXPECT_EQ(0, pmd_read_events(self->t.fd, &ev, 1))
		TH_LOG("handle %u was reported", ev.handle);
	for (i = 0; i < BUFFERS; i++) {
		test_pmd_copy(PMD_COPY_ORIGINAL, self->t.fd, self->t.h[i], &c);
		test_pmd_release(self->t.fd, c);
	}
	base = st;
	ASSERT_EQ(0, pmd_stats_read(&st));
	EXPECT_EQ(base.fast + BUFFERS, st.fast)
		TH_LOG("%ld of %d copies took the slow path",
		       BUFFERS - (st.fast - base.fast), BUFFERS);
}

/*
 * Copy table: copy while PROT_NONE by the slow path (an invalidation of
 * the gap between the ranges forces the compare): the original, as by the
 * fast path.
 */
TEST_F(pmd, copy_of_prot_none_by_compare_is_original)
{
	struct pmd_stats base, st;
	__u32 h = 0, c = 0;

	create_around_page1(_metadata, self->fd, self->buf, self->len, &h);
	ASSERT_EQ(0, mprotect(self->buf, self->len, PROT_NONE));
	spurious_invalidation(_metadata, self->buf);
	ASSERT_EQ(0, pmd_stats_read(&base));
	test_pmd_copy(PMD_COPY_ORIGINAL, self->fd, h, &c);
	ASSERT_EQ(0, pmd_stats_read(&st));
	EXPECT_EQ(base.fast, st.fast) TH_LOG("the copy took the fast path");
	ASSERT_EQ(0, mprotect(self->buf, self->len, PROT_READ | PROT_WRITE));
	ASSERT_EQ(0, madvise(self->buf + 2 * page_size, page_size,
			     MADV_DONTNEED));
	ASSERT_EQ(0, mprotect(self->buf, self->len, PROT_NONE));
	test_err_pmd_copy(EFAULT, self->fd, h, &c);
}

/*
 * A device-writes descriptor under userfaultfd write-protect: the compare
 * reads, it does not fault for writing (which would wait for the handler
 * that never comes: this thread is the handler), so the copy is the
 * original at once.
 */
TEST_F(pmd, copy_under_uffd_write_protect_is_original)
{
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_FEATURE_PAGEFAULT_FLAG_WP };
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)self->buf, .len = self->len },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	struct uffdio_writeprotect wp = {
		.range = reg.range, .mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};
	int uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	__u32 h = 0, c = 0;

	if (uffd < 0)
		SKIP(return, "no userfaultfd: %s", strerror(errno));
	if (ioctl(uffd, UFFDIO_API, &api) ||
	    ioctl(uffd, UFFDIO_REGISTER, &reg))
		SKIP(return, "no userfaultfd write-protect: %s",
		     strerror(errno));
	create_around_page1(_metadata, self->fd, self->buf, self->len, &h);
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_WRITEPROTECT, &wp));
	spurious_invalidation(_metadata, self->buf);
	test_pmd_copy(PMD_COPY_ORIGINAL, self->fd, h, &c);
	close(uffd);
}

/* Expect the trace buffer @text to hold a line with @what in it. */
static int traced(const char *text, const char *what)
{
	return text && strstr(text, what);
}

/* Tracepoints: create (and its failure), each copy outcome, release. */
TEST_F(pmd, tracepoints_show_each_outcome)
{
	__u32 h = 0, c = 0, fresh = 0;
	char *text;

	if (pmd_trace_set(1))
		SKIP(return, "this kernel has no tracefs events");
	ASSERT_EQ(-EINVAL, _pmd_create(self->fd, self->buf, self->len,
				       ~(__u32)PMD_RW, &h));
	create_around_page1(_metadata, self->fd, self->buf, self->len, &h);
	test_pmd_copy(PMD_COPY_ORIGINAL, self->fd, h, &c);
	spurious_invalidation(_metadata, self->buf);
	test_pmd_copy(PMD_COPY_ORIGINAL, self->fd, h, &c);
	ASSERT_EQ(0, pmd_remap(self->buf, self->len));
	test_pmd_copy(PMD_COPY_FRESH, self->fd, h, &fresh);
	test_pmd_release(self->fd, fresh);
	text = pmd_trace_read();
	pmd_trace_set(0);
	ASSERT_NE(NULL, text);
	EXPECT_TRUE(traced(text,
			   "pmdesc_create: id=0 kind=user flags=0xfffffff8 nr_pages=0 err=-22"));
	EXPECT_TRUE(traced(text, "kind=user flags=0x7 nr_pages=3 err=0"));
	EXPECT_TRUE(traced(text, "outcome=original fast=1"));
	EXPECT_TRUE(traced(text, "outcome=original fast=0"));
	EXPECT_TRUE(traced(text, "outcome=fresh fast=0"));
	EXPECT_TRUE(traced(text, "pmdesc_release: id="));
	free(text);
}

/*
 * Pin the @len bytes at @p read-only, then write them: COPY gives the
 * original, and the descriptor shows the data written.
 */
static void pin_readonly_then_write(struct __test_metadata *_metadata, int fd,
				    char *p, size_t len, unsigned char seed)
{
	char *out = malloc(len);
	__u32 h = 0, c = 0;

	ASSERT_NE(NULL, out);
	test_pmd_create(fd, p, len, PMD_F_PERSISTENT | PMD_F_DEVICE_READS, &h);
	fill(p, len, seed);
	EXPECT_EQ(PMD_COPY_ORIGINAL, _pmd_copy(fd, h, &c))
		TH_LOG("the pin did not hold the page the process wrote");
	test_pmd_read(fd, h, 0, out, len);
	EXPECT_EQ(0, memcmp(out, p, len))
		TH_LOG("the descriptor does not show the data written");
	ASSERT_EQ(0, munmap(p, len));
	free(out);
}

/*
 * Copy table: a read-only persistent descriptor over private anonymous
 * memory the program has not touched yet, then the program writes its data:
 * the original, and the descriptor shows the data. The pin must be of the
 * page the process keeps, not of the shared zero page.
 */
TEST_F(pmd, readonly_pin_then_write_is_original)
{
	char *p = mmap(NULL, self->len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, p);
	pin_readonly_then_write(_metadata, self->fd, p, self->len, 21);
}

/*
 * The same over a private mapping of a file (a memfd) that the program only
 * read before the pin: its first write replaces the file's page with its
 * own copy, which the read-only descriptor must have pinned already.
 */
TEST_F(pmd, readonly_pin_of_private_file_then_write_is_original)
{
	char *shared, *p;
	size_t i;
	int mfd;

	shared = memfd_buffer(_metadata, &mfd, self->len, 22);
	p = mmap(NULL, self->len, PROT_READ | PROT_WRITE, MAP_PRIVATE, mfd, 0);
	ASSERT_NE(MAP_FAILED, p);
	/* Read, never written: the file's pages are mapped. */
	for (i = 0; i < self->len; i += page_size)
		ASSERT_EQ((unsigned char)(22 + i * 7), (unsigned char)p[i]);
	pin_readonly_then_write(_metadata, self->fd, p, self->len, 23);
	ASSERT_EQ(0, munmap(shared, self->len));
	close(mfd);
}

/* Write @len bytes at @addr through /proc/self/mem (forced, as ptrace). */
static int poke_proc_mem(const void *addr, const void *src, size_t len)
{
	int fd = open("/proc/self/mem", O_RDWR);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pwrite(fd, src, len, (off_t)(uintptr_t)addr);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

/* In a forked child: the status mapping at @status must not be there. */
static void child_status_absent(int fd, void *status, size_t len)
{
	unsigned char vec[PMD_STATUS_MAX_SIZE / 4096];

	CHILD_CHECK(len / page_size <= sizeof(vec));
	CHILD_CHECK(mincore(status, len, vec) == -1 && errno == ENOMEM);
}

/*
 * No mapping of the status area may become a private copy, whose words
 * never move again: a MAP_PRIVATE read-only mapping refuses a forced write
 * and mprotect(PROT_WRITE), a forked child does not inherit it, and its
 * words keep moving.
 */
TEST_F(pmd, status_area_cannot_be_made_private)
{
	const __u64 *status = mmap(NULL, PMD_STATUS_MAX_SIZE, PROT_READ,
				   MAP_PRIVATE, self->fd, 0);
	__u32 h, idx;
	__u64 w;

	ASSERT_NE(MAP_FAILED, status);
	test_pmd_create(self->fd, self->buf, self->len, PMD_RW, &h);
	idx = pmd_status_index(self->fd, h);
	ASSERT_NE(PMD_STATUS_NONE, idx);
	w = pmd_status_word(status, idx);
	EXPECT_EQ(-1, poke_proc_mem(&status[idx], &w, sizeof(w)))
		TH_LOG("a forced write into the status mapping succeeded");
	EXPECT_EQ(-1, mprotect((void *)status, PMD_STATUS_MAX_SIZE,
			       PROT_READ | PROT_WRITE))
		TH_LOG("mprotect(PROT_WRITE) of the status mapping succeeded");
	EXPECT_EQ(0, in_child(child_status_absent, self->fd, (void *)status,
			      PMD_STATUS_MAX_SIZE))
		TH_LOG("a forked child inherited the status mapping");
	ASSERT_EQ(0, madvise(self->buf + page_size, page_size, MADV_DONTNEED));
	EXPECT_NE(w, pmd_status_word(status, idx))
		TH_LOG("the word in the status mapping did not move");
	ASSERT_EQ(0, pmd_status_unmap(status));
}

#define OPENS 2000

/*
 * Opening /dev/pmd allocates no status area up front: 2000 opens grow
 * vmalloc memory by nothing to speak of (a status area each was 32 KiB),
 * and slab memory by at most 2 KiB each: the file and its handle table
 * (8 KiB on the debug kernel, whose KASAN and kmemleak grow every object).
 */
TEST_F(pmd, open_allocates_no_status_area)
{
	struct rlimit rl = { .rlim_cur = OPENS + 64, .rlim_max = OPENS + 64 };
	long slab_bound = access("/sys/kernel/debug/kmemleak", F_OK) ? 2048 :
			  8192;
	long slab, vmalloc;
	static int fds[OPENS];
	int i;

	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	/* Grow the file table first, so that it is not counted. */
	ASSERT_EQ(OPENS + 32, dup2(self->fd, OPENS + 32));
	close(OPENS + 32);
	pmd_pins_held();
	slab = pmd_meminfo_kb("Slab");
	vmalloc = pmd_meminfo_kb("VmallocUsed");
	ASSERT_LT(0, slab);
	ASSERT_LE(0, vmalloc);
	for (i = 0; i < OPENS; i++) {
		fds[i] = open("/dev/pmd", O_RDWR);
		ASSERT_LE(0, fds[i]) TH_LOG("open %d: %s", i, strerror(errno));
	}
	pmd_pins_held();
	slab = pmd_meminfo_kb("Slab") - slab;
	vmalloc = pmd_meminfo_kb("VmallocUsed") - vmalloc;
	for (i = 0; i < OPENS; i++)
		close(fds[i]);
	TH_LOG("%d opens: Slab grew by %ld kB (%ld bytes each), VmallocUsed by %ld kB",
	       OPENS, slab, slab * 1024 / OPENS, vmalloc);
	EXPECT_GE(256, vmalloc);
	EXPECT_GE(slab_bound * OPENS / 1024, slab);
}

#define EXT4_MOUNT "/mnt/ext4"
#define EXT4_MAGIC 0xEF53

/*
 * A long-term writable pin of a file on a real filesystem (ext4, which
 * tracks dirty pages) in a shared mapping is refused with EFAULT, as 6.12's
 * GUP refuses it; a read-only one, a private mapping of the file and a
 * shared memfd are fine. scripts/vm-run.sh mounts an ext4 image at
 * /mnt/ext4; without it the test fails, unless PMD_TEST_NO_EXT4 is set.
 */
TEST_F(pmd, device_writes_refused_on_ext4_shared_mapping)
{
	char path[] = EXT4_MOUNT "/pmd-test-XXXXXX";
	char *shared, *priv, *mem;
	struct statfs sf;
	int ffd, mfd;
	__u32 h;

	if (getenv("PMD_TEST_NO_EXT4"))
		SKIP(return, "PMD_TEST_NO_EXT4 is set");
	ASSERT_EQ(0, statfs(EXT4_MOUNT, &sf))
		TH_LOG("statfs %s: %s", EXT4_MOUNT, strerror(errno));
	ASSERT_EQ(EXT4_MAGIC, sf.f_type)
		TH_LOG("no ext4 mounted at %s", EXT4_MOUNT);
	ffd = mkstemp(path);
	ASSERT_LE(0, ffd) TH_LOG("mkstemp %s: %s", path, strerror(errno));
	ASSERT_EQ(0, ftruncate(ffd, self->len));
	shared = mmap(NULL, self->len, PROT_READ | PROT_WRITE, MAP_SHARED,
		      ffd, 0);
	ASSERT_NE(MAP_FAILED, shared);
	fill(shared, self->len, 31);
	EXPECT_EQ(-EFAULT, _pmd_create(self->fd, shared, self->len, PMD_RW, &h));
	EXPECT_EQ(-EFAULT, _pmd_create(self->fd, shared, self->len,
				       PMD_F_DEVICE_WRITES, &h));
	EXPECT_EQ(0, _pmd_create(self->fd, shared, self->len,
				 PMD_F_PERSISTENT | PMD_F_DEVICE_READS, &h));
	priv = mmap(NULL, self->len, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		    ffd, 0);
	ASSERT_NE(MAP_FAILED, priv);
	fill(priv, self->len, 32);
	EXPECT_EQ(0, _pmd_create(self->fd, priv, self->len, PMD_RW, &h));
	mem = memfd_buffer(_metadata, &mfd, self->len, 33);
	EXPECT_EQ(0, _pmd_create(self->fd, mem, self->len, PMD_RW, &h));
	/* Unpin (and dirty) before the file goes. */
	close(self->fd);
	self->fd = open("/dev/pmd", O_RDWR);
	ASSERT_EQ(0, munmap(mem, self->len));
	ASSERT_EQ(0, munmap(priv, self->len));
	ASSERT_EQ(0, munmap(shared, self->len));
	close(mfd);
	close(ffd);
	ASSERT_EQ(0, unlink(path));
}

/*
 * A descriptor whose walk is long (GAPPED_RANGES ranges over two 16 MiB
 * parts, so a compare walks 4 Mi pages) and whose notifier span has a
 * gap that is in no range.
 */
#define PART (16UL << 20)
#define GAP (2UL << 20)
#define GAPPED_RANGES PMD_MAX_RANGES

/* The hammer stops by itself after HAMMER_SECONDS, so that no test hangs. */
#define HAMMER_SECONDS 20

struct hammer {
	int mfd;
	off_t offset;
	struct timespec start;
	atomic_int stop;
	atomic_long holes;
};

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec - t0->tv_sec + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Run the calling thread on CPU @cpu only (the VM has two). */
static void run_on_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/*
 * On CPU 1: punch a hole into one page of the memfd, over and over, for at
 * most HAMMER_SECONDS.
 */
static void *punch_holes(void *arg)
{
	struct hammer *hm = arg;

	run_on_cpu(1);
	while (!atomic_load(&hm->stop) &&
	       seconds_since(&hm->start) < HAMMER_SECONDS) {
		if (fallocate(hm->mfd, FALLOC_FL_PUNCH_HOLE |
			      FALLOC_FL_KEEP_SIZE, hm->offset, page_size))
			abort();
		atomic_fetch_add(&hm->holes, 1);
	}
	return NULL;
}

/* Start the hammer; return once it has punched a hundred holes. */
static int hammer_start(struct hammer *hm, pthread_t *thread)
{
	clock_gettime(CLOCK_MONOTONIC, &hm->start);
	if (pthread_create(thread, NULL, punch_holes, hm))
		return -1;
	while (atomic_load(&hm->holes) < 100)
		sched_yield();
	return 0;
}

static void hammer_stop(struct hammer *hm, pthread_t thread)
{
	atomic_store(&hm->stop, 1);
	pthread_join(thread, NULL);
}

/*
 * A memfd of two parts around a gap, mapped shared at *@p, and the ranges
 * of a descriptor: half of them over the first part, half over the second.
 * The gap is inside the descriptor's notifier span, in no range; the hammer
 * punches it.
 */
static void gapped_ranges(struct __test_metadata *_metadata,
			  struct hammer *hm, char **p, struct pmd_range *r)
{
	int i;

	*p = memfd_buffer(_metadata, &hm->mfd, 2 * PART + GAP, 41);
	for (i = 0; i < GAPPED_RANGES; i++) {
		r[i].addr = (uintptr_t)*p;
		if (i >= GAPPED_RANGES / 2)
			r[i].addr += PART + GAP;
		r[i].len = PART;
	}
	hm->offset = PART + GAP / 2;
}

/*
 * While another thread keeps punching a hole into the gap between the
 * ranges of a descriptor (never into a range), COPY returns: the original,
 * or EBUSY once the kernel gave up after its bound (about a second), well
 * before the hammer gives up.
 */
TEST_F_TIMEOUT(pmd, copy_is_bounded_under_invalidations, 60)
{
	struct pmd_range r[GAPPED_RANGES];
	struct hammer hm = { 0 };
	struct timespec t0;
	pthread_t thread;
	double took;
	__u32 h, c;
	char *p;
	int ret;

	run_on_cpu(0);
	gapped_ranges(_metadata, &hm, &p, r);
	test_pmd_create_ranges(self->fd, r, GAPPED_RANGES, PMD_RW, &h);
	test_pmd_copy(PMD_COPY_ORIGINAL, self->fd, h, &c);
	ASSERT_EQ(0, hammer_start(&hm, &thread));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = _pmd_copy(self->fd, h, &c);
	took = seconds_since(&t0);
	hammer_stop(&hm, thread);
	TH_LOG("COPY returned %d after %.2f s, %ld holes punched", ret, took,
	       atomic_load(&hm.holes));
	EXPECT_TRUE(ret == PMD_COPY_ORIGINAL || ret == -EBUSY);
	EXPECT_GT(HAMMER_SECONDS / 2, took)
		TH_LOG("COPY spun until the hammer stopped");
	ASSERT_EQ(0, munmap(p, 2 * PART + GAP));
	close(hm.mfd);
}

/*
 * The child of copy_obeys_sigkill_under_invalidations: on CPU 0, copy
 * forever, counting the copies that returned in *@copies.
 */
static void copy_forever(const struct pmd_range *r, int ready,
			 atomic_long *copies)
{
	int fd = open("/dev/pmd", O_RDWR);
	__u32 h, c;

	run_on_cpu(0);
	if (fd < 0 || _pmd_create_ranges(fd, r, GAPPED_RANGES, PMD_RW, &h))
		_exit(1);
	if (write(ready, "", 1) != 1)
		_exit(1);
	for (;;) {
		_pmd_copy(fd, h, &c);
		atomic_fetch_add(copies, 1);
	}
}

/*
 * A process copying while another keeps punching a hole into the gap
 * between its descriptor's ranges dies when killed (and unpins its 4 Mi
 * pins) within KILL_SECONDS, well before the hammer gives up.
 */
#define KILL_SECONDS 8

TEST_F_TIMEOUT(pmd, copy_obeys_sigkill_under_invalidations, 60)
{
	struct pmd_range r[GAPPED_RANGES];
	struct hammer hm = { 0 };
	int pipefd[2], status = 0;
	long before, during;
	atomic_long *copies;
	struct timespec t0;
	pid_t pid, dead = 0;
	pthread_t thread;
	char *p, byte;

	copies = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, copies);
	gapped_ranges(_metadata, &hm, &p, r);
	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		copy_forever(r, pipefd[1], copies);
	ASSERT_EQ(1, read(pipefd[0], &byte, 1));
	ASSERT_EQ(0, hammer_start(&hm, &thread));
	before = atomic_load(copies);
	usleep(200 * 1000);
	during = atomic_load(copies) - before;
	ASSERT_EQ(0, kill(pid, SIGKILL));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (seconds_since(&t0) < KILL_SECONDS) {
		dead = waitpid(pid, &status, WNOHANG);
		if (dead)
			break;
		usleep(10 * 1000);
	}
	TH_LOG("%ld copies returned in the 200 ms before the kill", during);
	TH_LOG("killed child %s after %.2f s, %ld holes punched",
	       dead == pid ? "reaped" : "still alive", seconds_since(&t0),
	       atomic_load(&hm.holes));
	hammer_stop(&hm, thread);
	if (!dead)
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(pid, dead)
		TH_LOG("SIGKILL did not end COPY within %d s", KILL_SECONDS);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	ASSERT_EQ(0, munmap(p, 2 * PART + GAP));
	close(hm.mfd);
	close(pipefd[0]);
	close(pipefd[1]);
	munmap(copies, page_size);
}

/*
 * A status index freed and handed out again: the new handle's word moves
 * when it is attached, so a value sampled under the old handle never
 * matches the new one's.
 */
TEST_F(pmd, reused_status_index_moves_word)
{
	const __u64 *status = _pmd_status_map(self->fd);
	__u32 a, b, idx;
	__u64 v;

	ASSERT_NE(NULL, status);
	test_pmd_create(self->fd, self->buf, self->len, PMD_RW, &a);
	idx = pmd_status_index(self->fd, a);
	ASSERT_NE(PMD_STATUS_NONE, idx);
	ASSERT_EQ(0, madvise(self->buf + page_size, page_size, MADV_DONTNEED));
	v = pmd_status_word(status, idx);
	ASSERT_NE(0, v);
	test_pmd_release(self->fd, a);
	fill(self->buf, self->len, 9);
	test_pmd_create(self->fd, self->buf, self->len, PMD_RW, &b);
	ASSERT_EQ(idx, pmd_status_index(self->fd, b));
	EXPECT_NE(v, pmd_status_word(status, idx))
		TH_LOG("the reused word %u still reads %llu", idx,
		       (unsigned long long)v);
	ASSERT_EQ(0, pmd_status_unmap(status));
}

#define TAINT_WARN 512	/* bit 9, W: the kernel warned */

/* /proc/sys/kernel/tainted, or -1. */
static long kernel_tainted(void)
{
	FILE *f = fopen("/proc/sys/kernel/tainted", "r");
	long t = -1;

	if (f) {
		if (fscanf(f, "%ld", &t) != 1)
			t = -1;
		fclose(f);
	}
	return t;
}

#define MAX_OVERFLOW_CREATES 4096

/*
 * One page pinned over and over: each descriptor's PMD_MAX_RANGES ranges
 * all cover it, so each adds 1024 pins, 2^20 references. CREATE fails with
 * ENOMEM before the page's 32-bit reference count overflows (after 2047
 * such descriptors), and the kernel does not warn.
 */
TEST_F_TIMEOUT(pmd, pin_count_overflow_is_refused, 300)
{
	struct pmd_range *r = calloc(PMD_MAX_RANGES, sizeof(*r));
	long taint = kernel_tainted();
	int i, ret = 0;
	__u32 h;

	ASSERT_NE(NULL, r);
	ASSERT_LE(0, taint);
	for (i = 0; i < PMD_MAX_RANGES; i++) {
		r[i].addr = (uintptr_t)self->buf;
		r[i].len = page_size;
	}
	for (i = 0; i < MAX_OVERFLOW_CREATES; i++) {
		ret = _pmd_create_ranges(self->fd, r, PMD_MAX_RANGES,
					 PMD_F_DEVICE_READS |
					 PMD_F_DEVICE_WRITES, &h);
		if (ret)
			break;
	}
	TH_LOG("%d descriptors of %d pins of one page, then CREATE: %d (%s)",
	       i, PMD_MAX_RANGES, ret, strerror(-ret));
	EXPECT_EQ(-ENOMEM, ret);
	EXPECT_GT(2048, i) TH_LOG("the page's reference count overflowed");
	EXPECT_FALSE(kernel_tainted() & ~taint & TAINT_WARN)
		TH_LOG("the kernel warned");
	free(r);
	/* The teardown releases everything and checks the pins. */
}

#define MAX_HANDLES "/sys/module/pmdesc/parameters/max_handles"

/* The module parameter max_handles, restored after the test. */
FIXTURE(max_handles) {
	int fd;
	char *buf;
	size_t len;
	char saved[32];
};

FIXTURE_SETUP(max_handles)
{
	int fd = open(MAX_HANDLES, O_RDONLY);
	ssize_t n;

	ASSERT_LE(0, fd) TH_LOG("open %s: %s", MAX_HANDLES, strerror(errno));
	n = read(fd, self->saved, sizeof(self->saved) - 1);
	close(fd);
	ASSERT_LT(0, n);
	self->saved[n] = '\0';
	ASSERT_EQ(0, pmd_write_file(MAX_HANDLES, "2", 0));
	self->len = page_size;
	self->buf = open_with_buffer(_metadata, &self->fd, self->len);
}

FIXTURE_TEARDOWN(max_handles)
{
	close(self->fd);
	EXPECT_EQ(0, pmd_write_file(MAX_HANDLES, self->saved, 0));
}

/* Past max_handles, CREATE and a fresh COPY fail with EMFILE. */
TEST_F(max_handles, limits_handles_per_file)
{
	__u32 h1 = 0, h2 = 0, c = 0;
	int other;

	test_pmd_create(self->fd, self->buf, self->len, PMD_RW, &h1);
	test_pmd_create(self->fd, self->buf, self->len, PMD_RW, &h2);
	ASSERT_EQ(-EMFILE, _pmd_create(self->fd, self->buf, self->len, PMD_RW,
				       &c));
	/* The original adds a reference, not a handle. */
	test_pmd_copy(PMD_COPY_ORIGINAL, self->fd, h1, &c);
	ASSERT_EQ(0, pmd_remap(self->buf, self->len));
	test_err_pmd_copy(EMFILE, self->fd, h1, &c);
	/* Each file counts its own. */
	other = open("/dev/pmd", O_RDWR);
	ASSERT_LE(0, other);
	test_pmd_create(other, self->buf, self->len, PMD_RW, &c);
	close(other);

	test_pmd_release(self->fd, h2);
	test_pmd_copy(PMD_COPY_FRESH, self->fd, h1, &c);
	ASSERT_EQ(-EMFILE, _pmd_create(self->fd, self->buf, self->len, PMD_RW,
				       &h2));
}

/*
 * Every change of the copy table queues exactly the handles over the
 * changed memory, once each, with their cookies: here the fixture's handle
 * (cookie 0) and a second one over the same buffer, not a third over other
 * memory. poll() reports the file readable exactly while one is queued.
 */
TEST_F(change, event_queue_reports_the_changed_handles)
{
	char *other = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct pollfd pfd = { .fd = self->t.fd, .events = POLLIN };
	struct pmd_event ev[4];
	__u32 same, apart, idx;
	bool seen_h = false, seen_same = false;
	size_t i, n;

	ASSERT_NE(MAP_FAILED, other);
	other[0] = 1;
	ASSERT_EQ(0, _pmd_create_cookie(self->t.fd, self->t.buf, self->t.len,
					PMD_RW, 0xc0ffee, &same, &idx));
	ASSERT_EQ(0, _pmd_create_cookie(self->t.fd, other, page_size, PMD_RW,
					2, &apart, &idx));
	ASSERT_EQ(0, poll(&pfd, 1, 0));
	variant->change(_metadata, &self->t, variant->page);
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	ASSERT_EQ(POLLIN, pfd.revents);
	n = pmd_read_events(self->t.fd, ev, ARRAY_SIZE(ev));
	ASSERT_EQ(2, n);
	for (i = 0; i < n; i++) {
		EXPECT_EQ(0, ev[i].flags);
		if (ev[i].handle == self->t.h && ev[i].cookie == 0)
			seen_h = true;
		else if (ev[i].handle == same && ev[i].cookie == 0xc0ffee)
			seen_same = true;
		else
			TH_LOG("unexpected event: handle %u cookie %llx",
			       ev[i].handle, (unsigned long long)ev[i].cookie);
	}
	EXPECT_TRUE(seen_h);
	EXPECT_TRUE(seen_same);
	ASSERT_EQ(0, poll(&pfd, 1, 0));
	munmap(other, page_size);
}

/* An event queue on a plain pmd file, with one handle over the buffer. */
static void one_watched_handle(struct __test_metadata *_metadata, int fd,
			       char *buf, size_t len, __u64 cookie, __u32 *h)
{
	__u32 idx;

	ASSERT_EQ(0, _pmd_create_cookie(fd, buf, len, PMD_RW, cookie, h, &idx));
	ASSERT_NE(PMD_STATUS_NONE, idx);
}

static void change_page0(struct __test_metadata *_metadata, char *buf)
{
	ASSERT_EQ(0, madvise(buf, page_size, MADV_DONTNEED));
}

static void child_reads_events(int fd, void *buf, size_t len)
{
	struct pmd_event ev;

	CHILD_CHECK(read(fd, &ev, sizeof(ev)) == -1 && errno == EPERM);
}

/*
 * read(): whole records only (EINVAL for less room), EAGAIN when none is
 * queued on an O_NONBLOCK file, EFAULT for a bad buffer with the record
 * kept, EPERM from a forked child; a handle changed twice is queued once.
 */
TEST_F(pmd, event_read_errors)
{
	void *bad = mmap(NULL, page_size, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct pmd_event ev[3];
	__u32 h = 0;

	ASSERT_NE(MAP_FAILED, bad);

	one_watched_handle(_metadata, self->fd, self->buf, self->len, 7, &h);
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, O_NONBLOCK));
	ASSERT_EQ(-EAGAIN, _pmd_read_events(self->fd, ev, 1));
	change_page0(_metadata, self->buf);
	self->buf[0] = 1;
	change_page0(_metadata, self->buf);
	ASSERT_EQ(-1, read(self->fd, ev, sizeof(ev[0]) - 1));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(-1, read(self->fd, bad, sizeof(ev[0])));
	ASSERT_EQ(EFAULT, errno);
	ASSERT_EQ(0, in_child(child_reads_events, self->fd, NULL, 0));
	ASSERT_EQ(sizeof(ev[0]), read(self->fd, ev, 2 * sizeof(ev[0]) + 3));
	ASSERT_EQ(h, ev[0].handle);
	ASSERT_EQ(7, ev[0].cookie);
	ASSERT_EQ(-EAGAIN, _pmd_read_events(self->fd, ev, 2));
	munmap(bad, page_size);
}

/* A released handle is never reported, even with its event queued. */
TEST_F(pmd, released_handle_is_not_reported)
{
	struct pmd_event ev;
	__u32 h = 0, c = 0;

	one_watched_handle(_metadata, self->fd, self->buf, self->len, 1, &h);
	test_pmd_copy(PMD_COPY_ORIGINAL, self->fd, h, &c);
	change_page0(_metadata, self->buf);
	test_pmd_release(self->fd, h);
	/* One reference left: the handle lives, its event too. */
	ASSERT_EQ(1, pmd_read_events(self->fd, &ev, 1));
	change_page0(_metadata, self->buf);
	test_pmd_release(self->fd, h);
	ASSERT_EQ(0, pmd_read_events(self->fd, &ev, 1));
}

struct delayed_change {
	char *buf;
	int delay_ms;
};

static void *change_later(void *arg)
{
	struct delayed_change *dc = arg;

	usleep(dc->delay_ms * 1000);
	madvise(dc->buf, page_size, MADV_DONTNEED);
	return NULL;
}

/*
 * A blocking read() and epoll_wait() wait for a change, and return when
 * another thread makes it; a fresh copy inherits the original's cookie.
 */
TEST_F(pmd, event_wakes_blocked_readers)
{
	struct delayed_change dc = { .buf = self->buf, .delay_ms = 200 };
	struct epoll_event ee = { .events = EPOLLIN };
	struct pmd_event ev;
	__u32 h = 0, c = 0, idx;
	pthread_t t;
	int ep = epoll_create1(0);

	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->fd, &ee));
	one_watched_handle(_metadata, self->fd, self->buf, self->len, 42, &h);
	ASSERT_EQ(0, pthread_create(&t, NULL, change_later, &dc));
	ASSERT_EQ(1, epoll_wait(ep, &ee, 1, 10000));
	ASSERT_EQ(sizeof(ev), read(self->fd, &ev, sizeof(ev)));
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(h, ev.handle);
	ASSERT_EQ(PMD_COPY_FRESH, _pmd_copy_index(self->fd, h, &c, &idx));
	ASSERT_EQ(idx, pmd_status_index(self->fd, c));
	dc.buf = self->buf + page_size;
	ASSERT_EQ(0, pthread_create(&t, NULL, change_later, &dc));
	ASSERT_EQ(sizeof(ev), read(self->fd, &ev, sizeof(ev)));
	ASSERT_EQ(0, pthread_join(t, NULL));
	/* Both the original and the fresh copy cover the page. */
	EXPECT_EQ(42, ev.cookie);
	ASSERT_EQ(sizeof(ev), read(self->fd, &ev, sizeof(ev)));
	EXPECT_EQ(42, ev.cookie);
	close(ep);
}

#define MANY_HANDLES 65536

/*
 * Every persistent handle has a word, up to max_handles (65536 by
 * default): each a different one, backed, moved once when handed out; the
 * next CREATE is EMFILE.
 */
TEST_F_TIMEOUT(pmd, every_handle_has_a_word, 600)
{
	const __u64 *status = test_pmd_status_map(self->fd);
	unsigned char *seen = calloc(MANY_HANDLES, 1);
	__u32 h, idx, i;

	ASSERT_NE(NULL, seen);
	for (i = 0; i < MANY_HANDLES; i++) {
		ASSERT_EQ(0, _pmd_create_cookie(self->fd,
						self->buf + i % NPAGES * page_size,
						page_size, PMD_F_PERSISTENT |
						PMD_F_DEVICE_READS, i, &h,
						&idx)) TH_LOG("handle %u", i);
		ASSERT_GT(MANY_HANDLES, idx);
		ASSERT_EQ(0, seen[idx]) TH_LOG("word %u given twice", idx);
		seen[idx] = 1;
		ASSERT_EQ(1, pmd_status_word(status, idx));
	}
	ASSERT_EQ(-EMFILE, _pmd_create(self->fd, self->buf, page_size,
				       PMD_F_PERSISTENT | PMD_F_DEVICE_READS,
				       &h));
	free(seen);
	pmd_status_unmap(status);
}

static sigjmp_buf sigbus_jmp;

static void on_sigbus(int sig)
{
	siglongjmp(sigbus_jmp, 1);
}

/* Does a load of word @index of @status raise SIGBUS? */
static int word_is_sigbus(const __u64 *status, size_t index)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	int bus;

	sigaction(SIGBUS, &sa, &old);
	bus = sigsetjmp(sigbus_jmp, 1);
	if (!bus)
		(void)pmd_status_word(status, index);
	sigaction(SIGBUS, &old, NULL);
	return bus;
}

/* A file with one handle has one page of words; the next is not there. */
TEST_F(pmd, one_handle_costs_one_status_page)
{
	const __u64 *status;
	__u32 h = 0, idx;

	ASSERT_EQ(0, _pmd_create_cookie(self->fd, self->buf, self->len, PMD_RW,
					0, &h, &idx));
	ASSERT_EQ(0, idx);
	status = test_pmd_status_map(self->fd);
	EXPECT_EQ(0, word_is_sigbus(status, idx));
	EXPECT_EQ(1, word_is_sigbus(status, page_size / sizeof(__u64)));
	pmd_status_unmap(status);
}

/* max_handles cannot exceed the words of the status area. */
TEST(max_handles_is_bounded_by_the_status_area)
{
	char big[32];

	snprintf(big, sizeof(big), "%u", PMD_STATUS_MAX_WORDS + 1);
	EXPECT_EQ(-EINVAL, pmd_write_file(MAX_HANDLES, big, 0));
	EXPECT_EQ(-EINVAL, pmd_write_file(MAX_HANDLES, "0", 0));
}

/*
 * COPY_BATCH: each entry its own COPY. Here: unchanged (original, one
 * more reference), changed (fresh), unknown (ENOENT), not persistent
 * (EINVAL), unmapped (EFAULT); the call succeeds.
 */
TEST_F(pmd, copy_batch_entries_are_independent)
{
	char *gone = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct pmd_copy_entry e[5] = {};
	struct pmd_info info;
	__u32 same, changed, plain, unmapped;

	ASSERT_NE(MAP_FAILED, gone);
	gone[0] = 1;
	test_pmd_create(self->fd, self->buf, page_size, PMD_RW, &same);
	test_pmd_create(self->fd, self->buf + page_size, page_size, PMD_RW,
			&changed);
	test_pmd_create(self->fd, self->buf, page_size, PMD_F_DEVICE_READS,
			&plain);
	test_pmd_create(self->fd, gone, page_size, PMD_RW, &unmapped);
	ASSERT_EQ(0, munmap(gone, page_size));
	change_page0(_metadata, self->buf + page_size);
	e[0].handle = same;
	e[1].handle = changed;
	e[2].handle = 999999;
	e[3].handle = plain;
	e[4].handle = unmapped;
	ASSERT_EQ(0, _pmd_copy_batch(self->fd, e, ARRAY_SIZE(e)));
	EXPECT_EQ(PMD_COPY_ORIGINAL, e[0].result);
	EXPECT_EQ(same, e[0].new_handle);
	EXPECT_EQ(pmd_status_index(self->fd, same), e[0].status_index);
	EXPECT_EQ(PMD_COPY_FRESH, e[1].result);
	EXPECT_NE(changed, e[1].new_handle);
	EXPECT_EQ(pmd_status_index(self->fd, e[1].new_handle),
		  e[1].status_index);
	EXPECT_EQ(-ENOENT, e[2].result);
	EXPECT_EQ(-EINVAL, e[3].result);
	EXPECT_EQ(-EFAULT, e[4].result);
	EXPECT_EQ(0, e[4].new_handle);
	EXPECT_EQ(PMD_STATUS_NONE, e[4].status_index);
	test_pmd_info(self->fd, same, &info);
	EXPECT_EQ(2, info.refs);
}

/*
 * The call's own errors: more than PMD_COPY_BATCH_MAX entries is EINVAL;
 * an entry that cannot be read is EFAULT, after the entries before it were
 * done (their results written, their references taken once) and with
 * nothing done for it and the rest; no entries is nothing to do.
 */
TEST_F(pmd, copy_batch_errors)
{
	struct pmd_copy_entry *e = mmap(NULL, 2 * page_size,
					PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t per_page = page_size / sizeof(*e);
	struct pmd_info info;
	__u32 h = 0;
	size_t i;

	ASSERT_NE(MAP_FAILED, e);
	test_pmd_create(self->fd, self->buf, self->len, PMD_RW, &h);
	ASSERT_EQ(-EINVAL, _pmd_copy_batch(self->fd, e, PMD_COPY_BATCH_MAX + 1));
	ASSERT_EQ(0, _pmd_copy_batch(self->fd, NULL, 0));
	ASSERT_EQ(-EFAULT, _pmd_copy_batch(self->fd, NULL, 1));
	for (i = 0; i < 2 * per_page; i++)
		e[i].handle = h;
	ASSERT_EQ(0, munmap(e + per_page, page_size));
	ASSERT_EQ(-EFAULT, _pmd_copy_batch(self->fd, e, per_page + 1));
	for (i = 0; i < per_page; i++)
		ASSERT_EQ(PMD_COPY_ORIGINAL, e[i].result);
	test_pmd_info(self->fd, h, &info);
	EXPECT_EQ(1 + per_page, info.refs);
	munmap(e, page_size);
}

/*
 * An entry whose result cannot be written back is EFAULT as well, wherever
 * in the call the unwritable page begins: the entries before it are done
 * and keep their references, it and the rest took none.
 */
TEST_F(pmd, copy_batch_unwritable_entry)
{
	struct pmd_copy_entry *e = mmap(NULL, 2 * page_size,
					PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t per_page = page_size / sizeof(*e), i;
	struct pmd_info info;
	__u32 h = 0;
	int skip;

	ASSERT_NE(MAP_FAILED, e);
	test_pmd_create(self->fd, self->buf, self->len, PMD_RW, &h);
	for (i = 0; i < 2 * per_page; i++)
		e[i].handle = h;
	ASSERT_EQ(0, mprotect(e + per_page, page_size, PROT_READ));
	/* The page boundary at each place in a run of entries. */
	for (skip = 1; skip <= 33; skip++) {
		ASSERT_EQ(-EFAULT, _pmd_copy_batch(self->fd, e + skip, per_page));
		for (i = skip; i < per_page; i++)
			ASSERT_EQ(PMD_COPY_ORIGINAL, e[i].result);
		test_pmd_info(self->fd, h, &info);
		ASSERT_EQ(1 + per_page - skip, info.refs);
		for (i = skip; i < per_page; i++)
			test_pmd_release(self->fd, h);
		memset(e, 0, page_size);
		for (i = 0; i < per_page; i++)
			e[i].handle = h;
	}
	munmap(e, 2 * page_size);
}

/*
 * The registration cache of libpmd: a hit after what cannot replace a page
 * (writes, mprotect and back, fork), a fresh descriptor with a new handle
 * after MADV_DONTNEED, and an eviction from the event queue after another.
 */
TEST_F(pmd, rcache_hits_until_a_page_changes)
{
	struct pmd_rcache *rc = pmd_rcache_new(self->fd, 8);
	__u32 h = 0, h2 = 0;
	pid_t pid;

	ASSERT_NE(NULL, rc);
	ASSERT_EQ(PMD_RCACHE_MISS_NEW, pmd_rcache_get(rc, self->buf, self->len, &h));
	ASSERT_EQ(PMD_RCACHE_HIT, pmd_rcache_get(rc, self->buf, self->len, &h2));
	ASSERT_EQ(h, h2);
	fill(self->buf, self->len, 3);
	ASSERT_EQ(0, mprotect(self->buf, self->len, PROT_READ));
	ASSERT_EQ(0, mprotect(self->buf, self->len, PROT_READ | PROT_WRITE));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(0);
	ASSERT_EQ(pid, waitpid(pid, NULL, 0));
	ASSERT_EQ(PMD_RCACHE_HIT, pmd_rcache_get(rc, self->buf, self->len, &h2));
	ASSERT_EQ(h, h2);

	ASSERT_EQ(0, madvise(self->buf + page_size, page_size, MADV_DONTNEED));
	fill(self->buf, self->len, 4);
	ASSERT_EQ(PMD_RCACHE_MISS_FRESH, pmd_rcache_get(rc, self->buf, self->len, &h2));
	ASSERT_NE(h, h2);
	ASSERT_EQ(PMD_RCACHE_HIT, pmd_rcache_get(rc, self->buf, self->len, &h));
	ASSERT_EQ(h2, h);

	ASSERT_EQ(0, madvise(self->buf, page_size, MADV_DONTNEED));
	ASSERT_EQ(1, pmd_rcache_evict_changed(rc));
	ASSERT_EQ(0, pmd_rcache_size(rc));
	fill(self->buf, self->len, 5);
	ASSERT_EQ(PMD_RCACHE_MISS_NEW, pmd_rcache_get(rc, self->buf, self->len, &h));
	ASSERT_EQ(1, pmd_rcache_stats(rc)->fresh);
	ASSERT_EQ(0, pmd_rcache_stats(rc)->spurious);
	pmd_rcache_free(rc);
}

/*
 * The fields after ABI v1: a v1 CREATE (no cookie) works and its events
 * carry cookie 0; a nonzero __reserved is EINVAL; a v1 COPY works; a v1
 * COPY_BATCH is its whole struct.
 */
TEST_F(pmd, struct_sizes_after_v1)
{
	struct pmd_range r = { .addr = (uintptr_t)self->buf, .len = self->len };
	/* A v1 struct ends where the first field added after it begins. */
	struct pmd_create c = { .size = offsetof(struct pmd_create, cookie),
				.flags = PMD_RW, .ranges = (uintptr_t)&r,
				.nr_ranges = 1, .cookie = 5 };
	struct pmd_copy cp = { .size = offsetof(struct pmd_copy, status_index) };
	struct pmd_copy_batch b = { .size = sizeof(b) - 1 };
	struct pmd_event ev;

	ASSERT_EQ(0, _pmd_ioctl(self->fd, PMD_IOC_CREATE, &c));
	change_page0(_metadata, self->buf);
	ASSERT_EQ(1, pmd_read_events(self->fd, &ev, 1));
	EXPECT_EQ(c.handle, ev.handle);
	EXPECT_EQ(0, ev.cookie);
	c.size = sizeof(c);
	c.__reserved = 1;
	ASSERT_EQ(-EINVAL, _pmd_ioctl(self->fd, PMD_IOC_CREATE, &c));
	cp.handle = c.handle;
	cp.status_index = 12345;
	ASSERT_EQ(0, _pmd_ioctl(self->fd, PMD_IOC_COPY, &cp));
	EXPECT_EQ(PMD_COPY_FRESH, cp.result);
	EXPECT_EQ(12345, cp.status_index) TH_LOG("wrote past a v1 struct");
	ASSERT_EQ(-EINVAL, _pmd_ioctl(self->fd, PMD_IOC_COPY_BATCH, &b));
}

int main(int argc, char **argv)
{
	page_size = sysconf(_SC_PAGESIZE);
	return test_harness_run(argc, argv);
}
