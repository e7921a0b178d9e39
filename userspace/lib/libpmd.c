// SPDX-License-Identifier: GPL-2.0
/* libpmd: see libpmd.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libpmd.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

int _pmd_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

int _pmd_create_ranges(int fd, const struct pmd_range *r, __u32 nr,
		       __u32 flags, __u32 *handle)
{
	struct pmd_create c = {
		.size = sizeof(c),
		.flags = flags,
		.ranges = (uintptr_t)r,
		.nr_ranges = nr,
	};
	int ret = _pmd_ioctl(fd, PMD_IOC_CREATE, &c);

	if (!ret)
		*handle = c.handle;
	return ret;
}

int _pmd_create(int fd, const void *addr, size_t len, __u32 flags,
		__u32 *handle)
{
	struct pmd_range r = { .addr = (uintptr_t)addr, .len = len };

	return _pmd_create_ranges(fd, &r, 1, flags, handle);
}

int _pmd_create_cookie(int fd, const void *addr, size_t len, __u32 flags,
		       __u64 cookie, __u32 *handle, __u32 *status_index)
{
	struct pmd_range r = { .addr = (uintptr_t)addr, .len = len };
	struct pmd_create c = {
		.size = sizeof(c),
		.flags = flags,
		.ranges = (uintptr_t)&r,
		.nr_ranges = 1,
		.cookie = cookie,
	};
	int ret = _pmd_ioctl(fd, PMD_IOC_CREATE, &c);

	if (ret)
		return ret;
	*handle = c.handle;
	*status_index = c.status_index;
	return 0;
}

int _pmd_copy_index(int fd, __u32 handle, __u32 *new_handle,
		    __u32 *status_index)
{
	struct pmd_copy c = { .size = sizeof(c), .handle = handle };
	int ret = _pmd_ioctl(fd, PMD_IOC_COPY, &c);

	if (ret)
		return ret;
	*new_handle = c.new_handle;
	*status_index = c.status_index;
	return c.result;
}

int _pmd_copy(int fd, __u32 handle, __u32 *new_handle)
{
	__u32 status_index;

	return _pmd_copy_index(fd, handle, new_handle, &status_index);
}

int _pmd_copy_batch(int fd, struct pmd_copy_entry *e, __u32 nr)
{
	struct pmd_copy_batch b = {
		.size = sizeof(b),
		.nr = nr,
		.entries = (uintptr_t)e,
	};

	return _pmd_ioctl(fd, PMD_IOC_COPY_BATCH, &b);
}

long _pmd_read_events(int fd, struct pmd_event *ev, size_t max)
{
	ssize_t n = read(fd, ev, max * sizeof(*ev));

	return n < 0 ? -errno : n / (long)sizeof(*ev);
}

int _pmd_release(int fd, __u32 handle)
{
	struct pmd_release r = { .size = sizeof(r), .handle = handle };

	return _pmd_ioctl(fd, PMD_IOC_RELEASE, &r);
}

int _pmd_info(int fd, __u32 handle, struct pmd_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	info->handle = handle;
	return _pmd_ioctl(fd, PMD_IOC_INFO, info);
}

static int pmd_rw(int fd, unsigned long cmd, __u32 handle, __u64 offset,
		  const void *buf, __u64 len)
{
	struct pmd_rw rw = {
		.size = sizeof(rw),
		.handle = handle,
		.offset = offset,
		.buf = (uintptr_t)buf,
		.len = len,
	};

	return _pmd_ioctl(fd, cmd, &rw);
}

int _pmd_read(int fd, __u32 handle, __u64 offset, void *buf, __u64 len)
{
	return pmd_rw(fd, PMD_IOC_READ, handle, offset, buf, len);
}

int _pmd_write(int fd, __u32 handle, __u64 offset, const void *buf,
	       __u64 len)
{
	return pmd_rw(fd, PMD_IOC_WRITE, handle, offset, buf, len);
}

int _pmd_pfns(int fd, __u32 handle, __u64 first, __u64 nr, __u64 *pfns)
{
	struct pmd_pfns p = {
		.size = sizeof(p),
		.handle = handle,
		.first = first,
		.nr = nr,
		.pfns = (uintptr_t)pfns,
	};

	return _pmd_ioctl(fd, PMD_IOC_PFNS, &p);
}

const __u64 *_pmd_status_map(int fd)
{
	void *p = mmap(NULL, PMD_STATUS_MAX_SIZE, PROT_READ, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

int pmd_status_unmap(const __u64 *area)
{
	return munmap((void *)area, PMD_STATUS_MAX_SIZE) ? -errno : 0;
}

__u32 pmd_status_index(int fd, __u32 handle)
{
	struct pmd_info info;

	return _pmd_info(fd, handle, &info) ? PMD_STATUS_NONE :
	       info.status_index;
}

void pmd_die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what,
		strerror(errno));
	exit(1);
}

void pmd_check(int err, const char *what)
{
	if (err) {
		errno = -err;
		pmd_die(what);
	}
}

int pmd_open(void)
{
	int fd = open("/dev/pmd", O_RDWR);

	if (fd < 0)
		pmd_die("open /dev/pmd");
	return fd;
}

__u32 pmd_create(int fd, const void *addr, size_t len, __u32 flags)
{
	__u32 handle = 0;

	pmd_check(_pmd_create(fd, addr, len, flags, &handle), "CREATE");
	return handle;
}

void pmd_copy_batch(int fd, struct pmd_copy_entry *e, __u32 nr)
{
	pmd_check(_pmd_copy_batch(fd, e, nr), "COPY_BATCH");
}

size_t pmd_read_events(int fd, struct pmd_event *ev, size_t max)
{
	int flags = fcntl(fd, F_GETFL);
	long n;

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK))
		pmd_die("fcntl");
	n = _pmd_read_events(fd, ev, max);
	if (fcntl(fd, F_SETFL, flags))
		pmd_die("fcntl");
	if (n == -EAGAIN)
		return 0;
	pmd_check(n < 0 ? n : 0, "read events");
	return n;
}

int pmd_copy(int fd, __u32 handle, __u32 *new_handle)
{
	int ret = _pmd_copy(fd, handle, new_handle);

	pmd_check(ret < 0 ? ret : 0, "COPY");
	return ret;
}

__u32 pmd_copy_expect(int fd, __u32 handle, int expect)
{
	__u32 c = 0;
	int ret = pmd_copy(fd, handle, &c);

	if (ret != expect) {
		fprintf(stderr, "%s: COPY gave %d, not %d\n",
			program_invocation_short_name, ret, expect);
		exit(1);
	}
	return c;
}

void pmd_release(int fd, __u32 handle)
{
	pmd_check(_pmd_release(fd, handle), "RELEASE");
}

struct pmd_info pmd_info(int fd, __u32 handle)
{
	struct pmd_info info;

	pmd_check(_pmd_info(fd, handle, &info), "INFO");
	return info;
}

void pmd_read(int fd, __u32 handle, __u64 offset, void *buf, __u64 len)
{
	pmd_check(_pmd_read(fd, handle, offset, buf, len), "READ");
}

const __u64 *pmd_status_map(int fd)
{
	const __u64 *area = _pmd_status_map(fd);

	if (!area)
		pmd_die("mmap status area");
	return area;
}

int pmd_remap(void *buf, size_t len)
{
	if (munmap(buf, len))
		return -errno;
	if (mmap(buf, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != buf)
		return -errno;
	return 0;
}

int pmd_write_file(const char *path, const char *text, int flags)
{
	size_t len = strlen(text);
	int fd = open(path, O_WRONLY | flags), ret = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	if (n < 0)
		ret = -errno;
	else if ((size_t)n != len)
		ret = -EIO;
	close(fd);
	return ret;
}

/* Fields of a "name value" file: the value of @name, or -1. */
static long read_field(const char *path, const char *fmt, const char *name)
{
	char line[256], key[64];
	long val, found = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, fmt, key, &val) == 2 && !strcmp(key, name)) {
			found = val;
			break;
		}
	fclose(f);
	return found;
}

long pmd_pins_held(void)
{
	long acquired, released;

	pmd_write_file("/proc/sys/vm/stat_refresh", "1", 0);
	acquired = read_field("/proc/vmstat", "%63s %ld", "nr_foll_pin_acquired");
	released = read_field("/proc/vmstat", "%63s %ld", "nr_foll_pin_released");
	return acquired < 0 || released < 0 ? -1 : acquired - released;
}

long pmd_vm_pinned_kb(void)
{
	return read_field("/proc/self/status", "%63[^:]: %ld", "VmPin");
}

long pmd_meminfo_kb(const char *key)
{
	return read_field("/proc/meminfo", "%63[^:]: %ld", key);
}

int pmd_stats_read(struct pmd_stats *st)
{
	static const struct {
		const char *name;
		size_t offset;
	} fields[] = {
		{ "descriptors_live", offsetof(struct pmd_stats, live) },
		{ "pages_pinned", offsetof(struct pmd_stats, pinned) },
		{ "copies_original", offsetof(struct pmd_stats, original) },
		{ "copies_fresh", offsetof(struct pmd_stats, fresh) },
		{ "copies_error", offsetof(struct pmd_stats, error) },
		{ "copies_fast", offsetof(struct pmd_stats, fast) },
		{ "invalidations_unmap", offsetof(struct pmd_stats, inval_unmap) },
		{ "invalidations_clear", offsetof(struct pmd_stats, inval_clear) },
		{ "invalidations_migrate",
		  offsetof(struct pmd_stats, inval_migrate) },
		{ "invalidations_protection_vma",
		  offsetof(struct pmd_stats, inval_protection_vma) },
		{ "invalidations_protection_page",
		  offsetof(struct pmd_stats, inval_protection_page) },
		{ "invalidations_soft_dirty",
		  offsetof(struct pmd_stats, inval_soft_dirty) },
		{ "settles_changed", offsetof(struct pmd_stats, settles_changed) },
		{ "settles_unchanged",
		  offsetof(struct pmd_stats, settles_unchanged) },
	};
	unsigned int i;
	long val;

	for (i = 0; i < ARRAY_SIZE(fields); i++) {
		val = read_field(PMD_STATS_PATH, "%63s %ld", fields[i].name);
		if (val < 0)
			return -1;
		*(long *)((char *)st + fields[i].offset) = val;
	}
	return 0;
}

int pmd_trace_set(int on)
{
	int ret = pmd_write_file(PMD_TRACING "/events/pmdesc/enable",
				 on ? "1" : "0", 0);

	return ret ?: pmd_write_file(PMD_TRACING "/trace", "", O_TRUNC);
}

char *pmd_trace_read(void)
{
	size_t len = 0, size = 1 << 16;
	char *text = malloc(size);
	int fd = open(PMD_TRACING "/trace", O_RDONLY);
	ssize_t n;

	if (!text || fd < 0)
		goto err;
	while ((n = read(fd, text + len, size - 1 - len)) > 0) {
		len += n;
		if (len == size - 1) {
			char *bigger = realloc(text, size *= 2);

			if (!bigger)
				goto err;
			text = bigger;
		}
	}
	if (n < 0)
		goto err;
	close(fd);
	text[len] = '\0';
	return text;
err:
	if (fd >= 0)
		close(fd);
	free(text);
	return NULL;
}

void pmd_errnos_add(struct pmd_errnos *e, int err)
{
	if (err < 0)
		err = -err;
	if (err && err <= PMD_MAX_ERRNO)
		__atomic_fetch_add(&e->count[err], 1, __ATOMIC_RELAXED);
}

void pmd_errnos_print(FILE *f, const struct pmd_errnos *e)
{
	int i;

	for (i = 1; i <= PMD_MAX_ERRNO; i++)
		if (e->count[i])
			fprintf(f, " %s=%ld", strerrorname_np(i), e->count[i]);
	fprintf(f, "\n");
}

void pmd_rng_seed(struct pmd_rng *rng, __u64 seed)
{
	rng->state = seed * 0x9e3779b97f4a7c15ULL | 1;
}

__u64 pmd_rng_next(struct pmd_rng *rng)
{
	rng->state ^= rng->state << 13;
	rng->state ^= rng->state >> 7;
	rng->state ^= rng->state << 17;
	return rng->state;
}

void pmd_tap_plan(struct pmd_tap *tap, int checks)
{
	memset(tap, 0, sizeof(*tap));
	printf("TAP version 13\n1..%d\n", checks);
}

int pmd_tap_ok(struct pmd_tap *tap, int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", ok ? "" : "not ", ++tap->next);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (ok)
		tap->passed++;
	else
		tap->failed++;
	return ok;
}

int pmd_tap_done(struct pmd_tap *tap)
{
	printf("# %d passed, %d failed\n", tap->passed, tap->failed);
	fflush(stdout);
	return tap->failed ? 1 : 0;
}

void pmd_tap_no_leaks(struct pmd_tap *tap, long pins_before)
{
	long pins = pmd_pins_held(), kb = pmd_vm_pinned_kb();

	pmd_tap_ok(tap, pins == pins_before,
		   "pins held after close: %ld (before %ld)", pins, pins_before);
	pmd_tap_ok(tap, kb == 0, "VmPin after close: %ld kB", kb);
}
