/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libpmd: the userspace side of /dev/pmd, shared by every program here and
 * meant for anything else that drives the device (a registration cache).
 *
 * Each ioctl has two forms, as tools/testing/selftests/iommu/iommufd_utils.h
 * pairs them:
 *   _pmd_<op>()  the raw call: 0 (or the result) on success, -errno on error;
 *   pmd_<op>()   the checked call: the result, or the program dies with a
 *                message naming the operation and the errno.
 * The kselftest ASSERT forms are in ../pmd_test_utils.h.
 *
 * The rest: leak probes (pins, VmPin), the module's debugfs counters and
 * trace events, an errno histogram, a seeded RNG and TAP output.
 */
#ifndef LIBPMD_H
#define LIBPMD_H

#include <stddef.h>
#include <stdio.h>

#include "../../uapi/pmd.h"

/* ioctl(@fd, @cmd, @arg): 0, or -errno. */
int _pmd_ioctl(int fd, unsigned long cmd, void *arg);

/* CREATE over @nr ranges at @r; the new handle in *@handle. 0 or -errno. */
int _pmd_create_ranges(int fd, const struct pmd_range *r, __u32 nr,
		       __u32 flags, __u32 *handle);

/* CREATE over the @len bytes at @addr. 0 or -errno. */
int _pmd_create(int fd, const void *addr, size_t len, __u32 flags,
		__u32 *handle);

/*
 * CREATE over the @len bytes at @addr with @cookie for its events; the
 * handle in *@handle, its status word in *@status_index. 0 or -errno.
 */
int _pmd_create_cookie(int fd, const void *addr, size_t len, __u32 flags,
		       __u64 cookie, __u32 *handle, __u32 *status_index);

/* COPY: PMD_COPY_ORIGINAL or PMD_COPY_FRESH (handle in *@new_handle), or -errno. */
int _pmd_copy(int fd, __u32 handle, __u32 *new_handle);

/* _pmd_copy(), also giving the new handle's status word in *@status_index. */
int _pmd_copy_index(int fd, __u32 handle, __u32 *new_handle,
		    __u32 *status_index);

/*
 * COPY_BATCH of the @nr entries at @e, whose handles the caller set; each
 * entry gets its own result. 0, or -errno of the call itself.
 */
int _pmd_copy_batch(int fd, struct pmd_copy_entry *e, __u32 nr);

/*
 * read() up to @max event records into @ev: how many, or -errno (-EAGAIN
 * when none is pending on an O_NONBLOCK file).
 */
long _pmd_read_events(int fd, struct pmd_event *ev, size_t max);

/* RELEASE one reference of @handle. 0 or -errno. */
int _pmd_release(int fd, __u32 handle);

/* INFO of @handle into *@info (zeroed first). 0 or -errno. */
int _pmd_info(int fd, __u32 handle, struct pmd_info *info);

/* READ/WRITE @len bytes at @offset of the descriptor. 0 or -errno. */
int _pmd_read(int fd, __u32 handle, __u64 offset, void *buf, __u64 len);
int _pmd_write(int fd, __u32 handle, __u64 offset, const void *buf,
	       __u64 len);

/* PFNS of pages @first to @first + @nr - 1 into @pfns. 0 or -errno. */
int _pmd_pfns(int fd, __u32 handle, __u64 first, __u64 nr, __u64 *pfns);

/*
 * The status area of @fd mapped read-only, all PMD_STATUS_MAX_SIZE bytes of
 * it (address space only: the kernel backs the words it hands out), or NULL
 * with errno set.
 */
const __u64 *_pmd_status_map(int fd);

/* Unmap a status area of _pmd_status_map(). 0 or -errno. */
int pmd_status_unmap(const __u64 *area);

/* The status index of @handle, or PMD_STATUS_NONE (also on error). */
__u32 pmd_status_index(int fd, __u32 handle);

/* Word @index of a mapped status area, loaded once, with acquire order. */
static inline __u64 pmd_status_word(const __u64 *area, __u32 index)
{
	return __atomic_load_n(&area[index], __ATOMIC_ACQUIRE);
}

/* Print "<program>: @what: <strerror(errno)>" to stderr and exit(1). */
void pmd_die(const char *what);

/* Die unless @err (0 or -errno from a raw form) is 0. */
void pmd_check(int err, const char *what);

/* The checked forms: they return what succeeded, or die. */
int pmd_open(void);
__u32 pmd_create(int fd, const void *addr, size_t len, __u32 flags);
void pmd_copy_batch(int fd, struct pmd_copy_entry *e, __u32 nr);
/* Read pending events without blocking: how many (0 when none). */
size_t pmd_read_events(int fd, struct pmd_event *ev, size_t max);
/* COPY: PMD_COPY_ORIGINAL or PMD_COPY_FRESH, the handle in *@new_handle. */
int pmd_copy(int fd, __u32 handle, __u32 *new_handle);
/* COPY that must return @expect: the handle it returned. */
__u32 pmd_copy_expect(int fd, __u32 handle, int expect);
void pmd_release(int fd, __u32 handle);
struct pmd_info pmd_info(int fd, __u32 handle);
void pmd_read(int fd, __u32 handle, __u64 offset, void *buf, __u64 len);
const __u64 *pmd_status_map(int fd);

/* Replace @len bytes at @buf with new anonymous memory. 0 or -errno. */
int pmd_remap(void *buf, size_t len);

/* Write @text to the file at @path, opened O_WRONLY | @flags: 0 or -errno. */
int pmd_write_file(const char *path, const char *text, int flags);

/*
 * Pages FOLL_PIN-pinned system-wide right now: nr_foll_pin_acquired minus
 * nr_foll_pin_released, exact once vm.stat_refresh folded the per-CPU
 * counters (which needs root). -1 if unreadable.
 */
long pmd_pins_held(void);

/* This process's mm->pinned_vm in kB (VmPin of /proc/self/status), or -1. */
long pmd_vm_pinned_kb(void);

/* Field @key (e.g. "Slab") of /proc/meminfo in kB, or -1. */
long pmd_meminfo_kb(const char *key);

/* The module's counters in debugfs (mounted at /sys/kernel/debug). */
#define PMD_STATS_PATH "/sys/kernel/debug/pmdesc/stats"

struct pmd_stats {
	long live;	/* descriptors_live */
	long pinned;	/* pages_pinned */
	long original;	/* copies_original */
	long fresh;	/* copies_fresh */
	long error;	/* copies_error */
	long fast;	/* copies_fast */
	/* invalidations_*: those that move words and sequences ... */
	long inval_unmap, inval_clear, inval_migrate;
	/* ... and the protection-only ones, which do not */
	long inval_protection_vma, inval_protection_page, inval_soft_dirty;
	/* clear invalidations settled on the way back to userspace, by whether
	 * a page had changed (the word moved) or not (it did not)
	 */
	long settles_changed, settles_unchanged;
};

/* Read every counter of PMD_STATS_PATH: 0, or -1 if one is missing. */
int pmd_stats_read(struct pmd_stats *st);

#define PMD_TRACING "/sys/kernel/tracing"

/*
 * Turn the pmdesc trace events on or off and empty the trace buffer:
 * 0, or -errno without tracefs or the events.
 */
int pmd_trace_set(int on);

/* The trace buffer as text, malloc()ed; NULL if it cannot be read. */
char *pmd_trace_read(void);

/* How often each errno came back; safe to count from several threads. */
#define PMD_MAX_ERRNO 134

struct pmd_errnos {
	long count[PMD_MAX_ERRNO + 1];
};

/* Count @err (an errno, positive or negative; 0 is not counted). */
void pmd_errnos_add(struct pmd_errnos *e, int err);

/* Print " ENAME=count" for each errno seen, then a newline. */
void pmd_errnos_print(FILE *f, const struct pmd_errnos *e);

/* xorshift64: a seeded, reproducible generator; one per thread. */
struct pmd_rng {
	__u64 state;
};

void pmd_rng_seed(struct pmd_rng *rng, __u64 seed);
__u64 pmd_rng_next(struct pmd_rng *rng);

/* TAP output: a plan, "ok N - ..." per check, and a summary. */
struct pmd_tap {
	int next;
	int passed;
	int failed;
};

void pmd_tap_plan(struct pmd_tap *tap, int checks);
/* Print one result; return @ok. */
int pmd_tap_ok(struct pmd_tap *tap, int ok, const char *fmt, ...);
/* "# N passed, N failed"; the exit status: 0 if all passed. */
int pmd_tap_done(struct pmd_tap *tap);

/*
 * Two checks after a file was closed: no pages pinned beyond
 * @pins_before, no locked memory charged to this process.
 */
void pmd_tap_no_leaks(struct pmd_tap *tap, long pins_before);

#endif
