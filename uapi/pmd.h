/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * pmd: persistent memory descriptors, user ABI.
 *
 * Userspace describes ranges of its own address space; the kernel pins the
 * pages behind them and can later tell whether the ranges are still backed by
 * the very same pages.
 */
#ifndef _UAPI_PMD_H
#define _UAPI_PMD_H

#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * enum pmd_flags - descriptor flags
 * @PMD_F_PERSISTENT: the descriptor may be copied with the copy constructor,
 *                    which returns it again while its ranges are still
 *                    backed by the pages it recorded
 * @PMD_F_DEVICE_READS: a device reads the memory (DMA_TO_DEVICE)
 * @PMD_F_DEVICE_WRITES: a device writes the memory (DMA_FROM_DEVICE; both
 *                       flags: DMA_BIDIRECTIONAL): the pages are pinned
 *                       writable and dirtied when they are unpinned; only
 *                       such descriptors may be written through
 *
 * A kernel that does not know a flag refuses it with -EINVAL; there is no
 * mask of all flags here, as its meaning would change under old binaries
 * when a flag is added.
 */
enum pmd_flags {
	PMD_F_PERSISTENT = 1 << 0,
	PMD_F_DEVICE_READS = 1 << 1,
	PMD_F_DEVICE_WRITES = 1 << 2,
};

/* The largest number of ranges one descriptor may describe. */
#define PMD_MAX_RANGES		1024

/* The most references one handle may hold (COPY returning the original). */
#define PMD_MAX_HANDLE_REFS	65536

/**
 * struct pmd_range - a byte range of the caller's address space
 * @addr: first byte; need not be page aligned
 * @len: length in bytes, not zero; addr + len must not exceed the user
 *       address limit
 */
struct pmd_range {
	__u64 addr;
	__u64 len;
};

/**
 * DOC: ioctl interface of /dev/pmd
 *
 * Every ioctl takes a pointer to a struct that starts with ``__u32 size``:
 * the caller's sizeof() of that struct. The kernel reads it the way
 * openat2() and clone3() read theirs: a size below the struct of ABI v1
 * (up to the end of its last v1 field) is -EINVAL; a larger size works when
 * the bytes beyond what the kernel knows are all zero, else it is -E2BIG.
 * Out-fields are written back in the smaller of the caller's size and the
 * kernel's, so old binaries and old kernels keep working as structs grow
 * at their ends. Command numbers are fixed and never reused.
 * Pointers travel as __aligned_u64, so the layout is the same for 32- and
 * 64-bit callers.
 *
 * Descriptors are named by handles: u32 values, never 0, private to the open
 * file. A file is bound to the address space that opened it: an ioctl from
 * any other (a forked child, a process that received the fd) fails with
 * -EPERM. Closing the file drops every reference its handles hold.
 *
 * Errors, for every ioctl:
 *
 * - ENOTTY: unknown ioctl.
 * - EINVAL: size below the v1 struct, unknown flag bits, nr_ranges 0 or
 *   above %PMD_MAX_RANGES, a zero-length range, addr + len overflowing or
 *   above the user address limit, read/write/pfns outside the descriptor,
 *   COPY of a descriptor without %PMD_F_PERSISTENT; mmap of the status area
 *   at an offset or beyond %PMD_STATUS_MAX_SIZE; a nonzero __reserved
 *   field; COPY_BATCH of more than %PMD_COPY_BATCH_MAX entries.
 * - E2BIG: nonzero bytes beyond the v1 struct.
 * - ENOENT: unknown handle.
 * - EFAULT: a page that cannot be pinned (unmapped, VM_IO/VM_PFNMAP, a
 *   read-only mapping with %PMD_F_DEVICE_WRITES, %PMD_F_DEVICE_WRITES over
 *   a shared file mapping that needs dirty tracking: any file but shmem,
 *   memfd and hugetlbfs), or a bad user pointer.
 * - ENOMEM: out of memory, RLIMIT_MEMLOCK exceeded, or a page pinned so
 *   often that its reference count nears its limit.
 * - EINTR: the caller was killed (CREATE, COPY, COPY_BATCH, READ, WRITE,
 *   PFNS).
 * - EBUSY: COPY: invalidations of the span of the ranges (the gaps between
 *   them included) kept racing with the comparison for a second; nothing
 *   changed, try again.
 * - EMFILE: CREATE or a fresh COPY would give the file more handles than
 *   the module parameter max_handles allows (default 65536, at most
 *   %PMD_STATUS_MAX_WORDS, so that every persistent handle has a word).
 * - EOVERFLOW: COPY would give a handle more than %PMD_MAX_HANDLE_REFS
 *   references.
 * - EPERM: the calling address space is not the opener's; WRITE through a
 *   descriptor without %PMD_F_DEVICE_WRITES; PFNS without CAP_SYS_ADMIN; a
 *   writable mapping of the status area.
 *
 * A failed ioctl leaves no handle, no pin and no charge behind.
 */
#define PMD_TYPE 0xB9

enum {
	PMD_CMD_CREATE = 0x80,
	PMD_CMD_COPY = 0x81,
	PMD_CMD_RELEASE = 0x82,
	PMD_CMD_INFO = 0x83,
	PMD_CMD_READ = 0x84,
	PMD_CMD_WRITE = 0x85,
	PMD_CMD_PFNS = 0x86,
	PMD_CMD_COPY_BATCH = 0x87,
};

/**
 * struct pmd_create - PMD_IOC_CREATE
 * @size: sizeof(struct pmd_create)
 * @flags: PMD_F_* flags
 * @ranges: user pointer to an array of struct pmd_range
 * @nr_ranges: entries in @ranges, 1 to %PMD_MAX_RANGES
 * @handle: out: the new descriptor's handle, holding one reference
 * @cookie: any value, given back in the handle's &struct pmd_event records
 *          (and in those of fresh copies made from it); after ABI v1, so 0
 *          for callers with the v1 struct
 * @status_index: out: the handle's word in the status area, or
 *                %PMD_STATUS_NONE when not %PMD_F_PERSISTENT
 * @__reserved: must be 0 (else -EINVAL)
 *
 * Pins every page that the bytes of the ranges touch and records them.
 */
struct pmd_create {
	__u32 size;
	__u32 flags;
	__aligned_u64 ranges;
	__u32 nr_ranges;
	__u32 handle;
	__aligned_u64 cookie;
	__u32 status_index;
	__u32 __reserved;
};

#define PMD_IOC_CREATE _IO(PMD_TYPE, PMD_CMD_CREATE)

/**
 * enum pmd_copy_result - what PMD_IOC_COPY returned
 * @PMD_COPY_ORIGINAL: the ranges are still backed by the recorded pages;
 *                     @new_handle is @handle, which holds one more reference
 * @PMD_COPY_FRESH: something changed; @new_handle names a new descriptor
 *                  over the pages that back the ranges now, with one
 *                  reference
 */
enum pmd_copy_result {
	PMD_COPY_ORIGINAL = 1,
	PMD_COPY_FRESH = 2,
};

/**
 * struct pmd_copy - PMD_IOC_COPY, the copy constructor
 * @size: sizeof(struct pmd_copy)
 * @handle: a descriptor created with %PMD_F_PERSISTENT
 * @new_handle: out: @handle or a new handle, see &enum pmd_copy_result
 * @result: out: an &enum pmd_copy_result
 * @status_index: out (after ABI v1): @new_handle's word in the status area
 */
struct pmd_copy {
	__u32 size;
	__u32 handle;
	__u32 new_handle;
	__u32 result;
	__u32 status_index;
};

#define PMD_IOC_COPY _IO(PMD_TYPE, PMD_CMD_COPY)

/**
 * struct pmd_copy_entry - one COPY of a PMD_IOC_COPY_BATCH
 * @handle: as &struct pmd_copy.handle
 * @new_handle: out: as &struct pmd_copy.new_handle; 0 on error
 * @result: out: an &enum pmd_copy_result, or a negative errno: any error of
 *          PMD_IOC_COPY but EFAULT for the entry itself, and EINTR
 * @status_index: out: as &struct pmd_copy.status_index
 */
struct pmd_copy_entry {
	__u32 handle;
	__u32 new_handle;
	__s32 result;
	__u32 status_index;
};

/**
 * struct pmd_copy_batch - PMD_IOC_COPY_BATCH, many COPYs in one call
 * @size: sizeof(struct pmd_copy_batch)
 * @nr: entries in @entries, at most %PMD_COPY_BATCH_MAX
 * @entries: user pointer to an array of struct pmd_copy_entry
 *
 * Runs a COPY for each entry in order, each on its own: an entry's error
 * is its @result and undoes none of the others. The call itself fails only
 * with EFAULT when an entry cannot be read or written back (the entries
 * before it are done; that one, which may be partly written, and the rest
 * are not done and hold no reference), and with EINTR
 * when the caller is killed; else it returns 0.
 */
struct pmd_copy_batch {
	__u32 size;
	__u32 nr;
	__aligned_u64 entries;
};

#define PMD_COPY_BATCH_MAX	65536

#define PMD_IOC_COPY_BATCH _IO(PMD_TYPE, PMD_CMD_COPY_BATCH)

/**
 * struct pmd_release - PMD_IOC_RELEASE
 * @size: sizeof(struct pmd_release)
 * @handle: drops one of its references; it disappears with the last
 */
struct pmd_release {
	__u32 size;
	__u32 handle;
};

#define PMD_IOC_RELEASE _IO(PMD_TYPE, PMD_CMD_RELEASE)

/**
 * struct pmd_info - PMD_IOC_INFO
 * @size: sizeof(struct pmd_info)
 * @handle: the descriptor
 * @flags: out: its PMD_F_* flags
 * @nr_ranges: out: its number of ranges
 * @length: out: bytes in all its ranges
 * @nr_pages: out: pages it has pinned
 * @id: out: unique per descriptor, never reused while the module is loaded
 * @refs: out: references @handle holds
 * @status_index: out: index of the descriptor's word in the status area,
 *                or %PMD_STATUS_NONE
 */
struct pmd_info {
	__u32 size;
	__u32 handle;
	__u32 flags;
	__u32 nr_ranges;
	__aligned_u64 length;
	__aligned_u64 nr_pages;
	__aligned_u64 id;
	__u32 refs;
	__u32 status_index;
};

#define PMD_IOC_INFO _IO(PMD_TYPE, PMD_CMD_INFO)

/**
 * struct pmd_rw - PMD_IOC_READ and PMD_IOC_WRITE
 * @size: sizeof(struct pmd_rw)
 * @handle: the descriptor; WRITE needs %PMD_F_DEVICE_WRITES
 * @offset: byte offset into the descriptor, its ranges end to end
 * @buf: user pointer to @len bytes
 * @len: bytes to copy
 *
 * Copies between @buf and the descriptor's pinned pages, which may no longer
 * be what its ranges map.
 */
struct pmd_rw {
	__u32 size;
	__u32 handle;
	__aligned_u64 offset;
	__aligned_u64 buf;
	__aligned_u64 len;
};

#define PMD_IOC_READ _IO(PMD_TYPE, PMD_CMD_READ)
#define PMD_IOC_WRITE _IO(PMD_TYPE, PMD_CMD_WRITE)

/**
 * struct pmd_pfns - PMD_IOC_PFNS, for CAP_SYS_ADMIN only
 * @size: sizeof(struct pmd_pfns)
 * @handle: the descriptor
 * @first: index of the first page
 * @nr: number of pages
 * @pfns: user pointer to __u64[@nr], out: the recorded page frame numbers
 */
struct pmd_pfns {
	__u32 size;
	__u32 handle;
	__aligned_u64 first;
	__aligned_u64 nr;
	__aligned_u64 pfns;
};

#define PMD_IOC_PFNS _IO(PMD_TYPE, PMD_CMD_PFNS)

/**
 * DOC: status area
 *
 * mmap() of /dev/pmd, read-only, at offset 0 and up to
 * %PMD_STATUS_MAX_SIZE bytes, shows an array of __u64 status words, one for
 * each persistent handle of the file (&struct pmd_create.status_index,
 * &struct pmd_copy.status_index, &struct pmd_info.status_index). Map the
 * whole %PMD_STATUS_MAX_SIZE once: it costs address space only. The area's
 * memory is allocated, and charged to the opener's memory cgroup, a page at
 * a time as words are handed out, so a file with ten handles costs one page;
 * a word whose index was handed out is always backed, one past every word
 * handed out so far may read as SIGBUS. The mapping can never be made
 * writable (mprotect() is -EACCES, a forced write through /proc/<pid>/mem
 * fails) and a forked child does not inherit it.
 *
 * The kernel increments a handle's word whenever the memory behind the
 * descriptor's ranges may have changed: an invalidation that can replace a
 * page (munmap, MADV_DONTNEED, mremap, a hole punched in the file, reclaim
 * or migration attempts). Protection-only changes cannot replace a pinned
 * page and move no word: mprotect(), NUMA-balancing scans, the write
 * protection of fork(), userfaultfd write-protect, soft-dirty clearing.
 * Nor does a clear by a single-threaded opener that left every recorded
 * page mapped where it was (MADV_DONTNEED of a page between two ranges,
 * the split of a VMA next to the buffer, which invalidates the 2 MiB
 * around the split): such a clear is checked before the call returns, and
 * the word has moved by then if a page changed. With more threads, which
 * could see a new page before that check, every clear moves the word.
 *
 * A registration cache checks validity with one load: sample the word, then
 * COPY; while the word still equals the sample, a COPY would return
 * %PMD_COPY_ORIGINAL again, so none is needed. That holds for a handle new
 * from CREATE or a fresh COPY too: an invalidation while that call ran may
 * have moved its word before any sample, and only the COPY after the
 * sample tells (through its O(1) path when nothing changed). A moved word may be
 * spurious (a page was looked at but not replaced; COPY then returns the
 * original through its slow path); an unmoved word never hides a change.
 * A handle's word is its own while the handle exists; a word moves when it
 * is handed to a new handle, so a sample of it taken for an earlier handle
 * never matches.
 */
#define PMD_STATUS_MAX_WORDS	0x100000U
#define PMD_STATUS_MAX_SIZE	(PMD_STATUS_MAX_WORDS * sizeof(__u64))
#define PMD_STATUS_NONE		0xffffffffU

/**
 * DOC: event queue
 *
 * read() of /dev/pmd returns whole &struct pmd_event records, one for each
 * handle whose status word moved since the handle was last reported, in
 * the order they first moved. A handle is queued at most once until it is
 * read, so the queue holds at most one record per handle and never
 * overflows; a released handle is never reported. poll(), select() and
 * epoll report the file readable (EPOLLIN) while a record is pending.
 * read() blocks until one is, unless the file is O_NONBLOCK.
 *
 * Errors of read(): EINVAL for a buffer smaller than one record; EAGAIN
 * when none is pending and the file is O_NONBLOCK; EINTR (ERESTARTSYS)
 * for a signal while waiting; EFAULT for a bad buffer (the records not
 * copied stay queued); EPERM from any address space but the opener's.
 */

/**
 * struct pmd_event - a record of the event queue
 * @handle: a handle whose status word moved
 * @flags: 0; a later ABI may set bits here
 * @cookie: &struct pmd_create.cookie of the handle, or of the handle it was
 *          copied from
 */
struct pmd_event {
	__u32 handle;
	__u32 flags;
	__aligned_u64 cookie;
};

#endif /* _UAPI_PMD_H */
