// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the pmdesc in-kernel API, over real user memory mapped into
 * a KUnit-owned address space with kunit_vm_mmap().
 *
 * Every case ends with a check, run after all of its other cleanups, that
 * the system holds exactly as many FOLL_PIN pins and as much locked memory
 * as before it started.
 */
#include <kunit/device.h>
#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/cred.h>
#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/falloc.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/ioport.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/scatterlist.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/vmstat.h>

#include "../pmd.h"

#define PMDESC_RW (PMD_F_PERSISTENT | PMD_F_DEVICE_READS | PMD_F_DEVICE_WRITES)

struct pmdesc_test_baseline {
	struct kunit *test;
	long pins;
	long locked_vm;
};

KUNIT_DEFINE_ACTION_WRAPPER(pmdesc_put_action, pmdesc_put, struct pmdesc *);
KUNIT_DEFINE_ACTION_WRAPPER(fput_action, fput, struct file *);
KUNIT_DEFINE_ACTION_WRAPPER(vfree_action, vfree, const void *);
KUNIT_DEFINE_ACTION_WRAPPER(sg_free_table_action, sg_free_table,
			    struct sg_table *);

/* A node statistic, exact: the global counter plus every unfolded diff. */
static long node_stat_exact(enum node_stat_item item)
{
	long val = global_node_page_state(item);
	int nid, cpu;

	for_each_online_node(nid)
		for_each_possible_cpu(cpu)
			val += per_cpu_ptr(NODE_DATA(nid)->per_cpu_nodestats,
					   cpu)->vm_node_stat_diff[item];
	return val;
}

static long pins_held(void)
{
	return node_stat_exact(NR_FOLL_PIN_ACQUIRED) -
	       node_stat_exact(NR_FOLL_PIN_RELEASED);
}

static long user_locked_vm(void)
{
	return atomic_long_read(&current_user()->locked_vm);
}

static void expect_nothing_held(void *data)
{
	struct pmdesc_test_baseline *base = data;
	struct kunit *test = base->test;

	KUNIT_EXPECT_EQ_MSG(test, pins_held(), base->pins,
			    "pages left pinned");
	KUNIT_EXPECT_EQ_MSG(test, user_locked_vm(), base->locked_vm,
			    "locked memory left charged");
}

static int pmdesc_test_init(struct kunit *test)
{
	struct pmdesc_test_baseline *base;

	base = kunit_kzalloc(test, sizeof(*base), GFP_KERNEL);
	if (!base)
		return -ENOMEM;
	base->test = test;
	base->pins = pins_held();
	base->locked_vm = user_locked_vm();
	/* Registered first, so it runs after every other cleanup. */
	return kunit_add_action_or_reset(test, expect_nothing_held, base);
}

static unsigned long map_user(struct kunit *test, struct file *file,
			      unsigned long addr, size_t len,
			      unsigned long prot, unsigned long flags)
{
	unsigned long uaddr;

	uaddr = kunit_vm_mmap(test, file, addr, len, prot, flags, 0);
	KUNIT_ASSERT_FALSE_MSG(test, !uaddr || IS_ERR_VALUE(uaddr),
			       "vm_mmap of %zu bytes failed", len);
	return uaddr;
}

/* Fill user bytes with a pattern that depends on @seed and the position. */
static void fill_user(struct kunit *test, unsigned long uaddr, size_t len,
		      u8 seed)
{
	u8 *buf = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);
	size_t done, i, n;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	for (done = 0; done < len; done += n) {
		n = min(len - done, PAGE_SIZE);
		for (i = 0; i < n; i++)
			buf[i] = seed + (done + i) * 7;
		KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)uaddr + done,
						   buf, n), 0);
	}
	kunit_kfree(test, buf);
}

/* Anonymous private memory, written so that every page is populated. */
static unsigned long map_anon(struct kunit *test, unsigned long npages)
{
	unsigned long uaddr = map_user(test, NULL, 0, npages * PAGE_SIZE,
				       PROT_READ | PROT_WRITE,
				       MAP_ANONYMOUS | MAP_PRIVATE);

	fill_user(test, uaddr, npages * PAGE_SIZE, 1);
	return uaddr;
}

/* Assert that @d is a descriptor, and put it when the test ends. */
static struct pmdesc *hold(struct kunit *test, struct pmdesc *d)
{
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, d);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, pmdesc_put_action,
							d), 0);
	return d;
}

static struct pmdesc *create_ranges(struct kunit *test,
				    const struct pmd_range *ranges,
				    unsigned int nr_ranges, u32 flags)
{
	return hold(test, pmdesc_create_user(current->mm, ranges, nr_ranges,
					     flags));
}

static struct pmdesc *create_one(struct kunit *test, unsigned long uaddr,
				 size_t len, u32 flags)
{
	struct pmd_range r = { .addr = uaddr, .len = len };

	return create_ranges(test, &r, 1, flags);
}

static struct pmdesc *copy_expect_original(struct kunit *test,
					   struct pmdesc *orig)
{
	struct pmdesc *c = hold(test, pmdesc_copy_persistent(orig));

	KUNIT_EXPECT_PTR_EQ(test, c, orig);
	return c;
}

static struct pmdesc *copy_expect_fresh(struct kunit *test,
					struct pmdesc *orig)
{
	struct pmdesc *c = hold(test, pmdesc_copy_persistent(orig));

	KUNIT_ASSERT_PTR_NE(test, c, orig);
	KUNIT_EXPECT_NE(test, pmdesc_id(c), pmdesc_id(orig));
	KUNIT_EXPECT_EQ(test, pmdesc_flags(c), pmdesc_flags(orig));
	KUNIT_EXPECT_EQ(test, pmdesc_length(c), pmdesc_length(orig));
	KUNIT_EXPECT_EQ(test, pmdesc_nr_pages(c), pmdesc_nr_pages(orig));
	return c;
}

/* Expect @d's pinned bytes [@offset, @offset + @len) to equal user memory. */
static void expect_bytes_match_user(struct kunit *test, const struct pmdesc *d,
				    size_t offset, unsigned long uaddr,
				    size_t len)
{
	u8 *want = kunit_kmalloc(test, len, GFP_KERNEL);
	u8 *got = kunit_kmalloc(test, len, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, want);
	KUNIT_ASSERT_NOT_NULL(test, got);
	KUNIT_ASSERT_EQ(test, copy_from_user(want, (void __user *)uaddr, len),
			0);
	KUNIT_ASSERT_EQ(test, pmdesc_read_bytes(d, offset, got, len), 0);
	KUNIT_EXPECT_MEMEQ(test, got, want, len);
	kunit_kfree(test, want);
	kunit_kfree(test, got);
}

/* madvise(MADV_DONTNEED) of one page, as the syscall does it. */
static void zap_user_page(struct kunit *test, unsigned long uaddr)
{
	struct vm_area_struct *vma;

	mmap_read_lock(current->mm);
	vma = vma_lookup(current->mm, uaddr);
	if (vma)
		zap_page_range_single(vma, uaddr, PAGE_SIZE, NULL);
	mmap_read_unlock(current->mm);
	KUNIT_ASSERT_NOT_NULL(test, vma);
}

struct memlock_limit {
	struct rlimit saved;
	const struct cred *old_cred;
};

/*
 * Run as a task without CAP_IPC_LOCK whose RLIMIT_MEMLOCK is @pages, until
 * unlimit_memlock(). Both must run in the test's own task.
 */
static void limit_memlock(struct kunit *test, struct memlock_limit *lim,
			  unsigned long pages)
{
	struct rlimit *rlim = &current->signal->rlim[RLIMIT_MEMLOCK];
	struct cred *new = prepare_creds();

	KUNIT_ASSERT_NOT_NULL(test, new);
	cap_lower(new->cap_effective, CAP_IPC_LOCK);
	lim->old_cred = override_creds(new);
	put_cred(new);
	lim->saved = *rlim;
	rlim->rlim_cur = pages << PAGE_SHIFT;
}

static void unlimit_memlock(struct memlock_limit *lim)
{
	current->signal->rlim[RLIMIT_MEMLOCK] = lim->saved;
	revert_creds(lim->old_cred);
}

static struct pmdesc *create_limited(struct kunit *test, struct mm_struct *mm,
				     const struct pmd_range *r,
				     unsigned long limit_pages)
{
	struct memlock_limit lim;
	struct pmdesc *d;

	limit_memlock(test, &lim, limit_pages);
	d = pmdesc_create_user(mm, r, 1, PMDESC_RW);
	unlimit_memlock(&lim);
	return d;
}

static void create_user_pins_and_charges_every_page(struct kunit *test)
{
	unsigned long uaddr = map_anon(test, 4);
	long pins = pins_held(), locked = user_locked_vm();
	struct mm_struct *mm = current->mm;
	struct pmdesc *d;

	d = create_one(test, uaddr, 4 * PAGE_SIZE, PMDESC_RW);
	KUNIT_EXPECT_EQ(test, pmdesc_nr_pages(d), 4);
	KUNIT_EXPECT_EQ(test, pmdesc_length(d), 4 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, pmdesc_flags(d), PMDESC_RW);
	KUNIT_EXPECT_EQ(test, pins_held() - pins, 4);
	KUNIT_EXPECT_EQ(test, user_locked_vm() - locked, 4);
	KUNIT_EXPECT_EQ(test, atomic64_read(&mm->pinned_vm), 4);
	KUNIT_EXPECT_NULL(test, pmdesc_page(d, 4));
	expect_bytes_match_user(test, d, 0, uaddr, 4 * PAGE_SIZE);

	kunit_release_action(test, pmdesc_put_action, d);
	KUNIT_EXPECT_EQ(test, pins_held(), pins);
	KUNIT_EXPECT_EQ(test, user_locked_vm(), locked);
	KUNIT_EXPECT_EQ(test, atomic64_read(&mm->pinned_vm), 0);
}

/*
 * Byte-granular ranges: a range covers the pages its bytes touch, and every
 * byte offset reads back the byte at that address, up to the end and no
 * further.
 */
static void create_user_unaligned_ranges(struct kunit *test)
{
	static const size_t starts[] = { 0, 1, PAGE_SIZE - 1, PAGE_SIZE };
	static const size_t lens[] = { 1, 2, PAGE_SIZE - 1, PAGE_SIZE,
				       PAGE_SIZE + 1, 2 * PAGE_SIZE + 1 };
	unsigned long uaddr = map_anon(test, 4);
	size_t s, l;
	u8 byte;

	for (s = 0; s < ARRAY_SIZE(starts); s++) {
		for (l = 0; l < ARRAY_SIZE(lens); l++) {
			size_t start = starts[s], len = lens[l];
			long pins = pins_held();
			struct pmdesc *d;

			d = create_one(test, uaddr + start, len, PMDESC_RW);
			KUNIT_EXPECT_EQ_MSG(test, pmdesc_nr_pages(d),
					    DIV_ROUND_UP(start % PAGE_SIZE + len,
							 PAGE_SIZE),
					    "start %zu len %zu", start, len);
			KUNIT_EXPECT_EQ(test, pmdesc_length(d), len);
			KUNIT_EXPECT_EQ(test, pins_held() - pins,
					pmdesc_nr_pages(d));
			expect_bytes_match_user(test, d, 0, uaddr + start, len);
			expect_bytes_match_user(test, d, len - 1,
						uaddr + start + len - 1, 1);
			KUNIT_EXPECT_EQ(test, pmdesc_read_bytes(d, len, &byte, 0),
					0);
			KUNIT_EXPECT_EQ(test, pmdesc_read_bytes(d, len, &byte, 1),
					-EINVAL);
			KUNIT_EXPECT_EQ(test,
					pmdesc_read_bytes(d, 0, &byte, len + 1),
					-EINVAL);
			KUNIT_EXPECT_EQ(test,
					pmdesc_read_bytes(d, SIZE_MAX, &byte, 1),
					-EINVAL);
			kunit_release_action(test, pmdesc_put_action, d);
			KUNIT_EXPECT_EQ(test, pins_held(), pins);
		}
	}
}

/* Bytes of several ranges read end to end, across range boundaries. */
static void create_user_multi_range(struct kunit *test)
{
	unsigned long uaddr = map_anon(test, 8);
	struct pmd_range r[] = {
		{ .addr = uaddr + 5 * PAGE_SIZE + 3, .len = PAGE_SIZE },
		{ .addr = uaddr + 10, .len = 20 },
		{ .addr = uaddr + 2 * PAGE_SIZE - 1, .len = 2 },
	};
	size_t off = 0;
	struct pmdesc *d, *whole;
	unsigned int i;

	whole = create_one(test, uaddr, 8 * PAGE_SIZE, PMDESC_RW);
	d = create_ranges(test, r, ARRAY_SIZE(r), PMDESC_RW);
	KUNIT_EXPECT_EQ(test, pmdesc_nr_pages(d), 2 + 1 + 2);
	KUNIT_EXPECT_EQ(test, pmdesc_length(d), PAGE_SIZE + 20 + 2);
	for (i = 0; i < ARRAY_SIZE(r); off += r[i].len, i++) {
		expect_bytes_match_user(test, d, off, r[i].addr, r[i].len);
		expect_bytes_match_user(test, d, off + r[i].len - 1,
					r[i].addr + r[i].len - 1, 1);
	}
	/* Pages are recorded range after range, in the order given. */
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_page(d, 0), pmdesc_page(whole, 5));
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_page(d, 1), pmdesc_page(whole, 6));
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_page(d, 2), pmdesc_page(whole, 0));
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_page(d, 3), pmdesc_page(whole, 1));
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_page(d, 4), pmdesc_page(whole, 2));
}

static void expect_create_error(struct kunit *test, struct mm_struct *mm,
				const struct pmd_range *r, unsigned int nr,
				u32 flags, int err)
{
	long pins = pins_held(), locked = user_locked_vm();

	KUNIT_EXPECT_PTR_EQ(test, pmdesc_create_user(mm, r, nr, flags),
			    ERR_PTR(err));
	KUNIT_EXPECT_EQ(test, pins_held(), pins);
	KUNIT_EXPECT_EQ(test, user_locked_vm(), locked);
}

static void create_user_rejects_bad_arguments(struct kunit *test)
{
	unsigned long uaddr = map_anon(test, 2);
	struct mm_struct *mm = current->mm;
	struct pmd_range ok = { .addr = uaddr, .len = PAGE_SIZE };
	struct pmd_range zero = { .addr = uaddr, .len = 0 };
	struct pmd_range wrap = { .addr = U64_MAX - 10, .len = 100 };
	struct pmd_range high = { .addr = mm->task_size - PAGE_SIZE,
				  .len = 2 * PAGE_SIZE };
	struct pmd_range many[2] = { ok, zero };

	expect_create_error(test, NULL, &ok, 1, PMDESC_RW, -EINVAL);
	expect_create_error(test, mm, NULL, 1, PMDESC_RW, -EINVAL);
	expect_create_error(test, mm, &ok, 0, PMDESC_RW, -EINVAL);
	expect_create_error(test, mm, &ok, PMD_MAX_RANGES + 1, PMDESC_RW,
			    -EINVAL);
	expect_create_error(test, mm, &ok, 1, PMDESC_F_VALID + 1, -EINVAL);
	expect_create_error(test, mm, &ok, 1, BIT(31), -EINVAL);
	expect_create_error(test, mm, &zero, 1, PMDESC_RW, -EINVAL);
	expect_create_error(test, mm, many, 2, PMDESC_RW, -EINVAL);
	expect_create_error(test, mm, &wrap, 1, PMDESC_RW, -EINVAL);
	expect_create_error(test, mm, &high, 1, PMDESC_RW, -EINVAL);
}

/* A hole anywhere in the ranges: -EFAULT, and the pages before it unpinned. */
static void create_user_unmapped_fails(struct kunit *test)
{
	unsigned long uaddr = map_anon(test, 4);
	struct pmd_range r = { .addr = uaddr, .len = 4 * PAGE_SIZE };

	KUNIT_ASSERT_EQ(test, vm_munmap(uaddr + 2 * PAGE_SIZE, PAGE_SIZE), 0);
	expect_create_error(test, current->mm, &r, 1, PMDESC_RW, -EFAULT);
	expect_create_error(test, current->mm, &r, 1, PMD_F_DEVICE_READS,
			    -EFAULT);
}

/* Device writes need a writable mapping; device reads do not. */
static void create_user_read_only_mapping(struct kunit *test)
{
	unsigned long uaddr = map_user(test, NULL, 0, 2 * PAGE_SIZE, PROT_READ,
				       MAP_ANONYMOUS | MAP_PRIVATE);
	struct pmd_range r = { .addr = uaddr, .len = 2 * PAGE_SIZE };
	struct pmdesc *d;

	expect_create_error(test, current->mm, &r, 1, PMDESC_RW, -EFAULT);
	d = create_one(test, uaddr, 2 * PAGE_SIZE,
		       PMD_F_PERSISTENT | PMD_F_DEVICE_READS);
	KUNIT_EXPECT_EQ(test, pmdesc_nr_pages(d), 2);
}

/*
 * Without CAP_IPC_LOCK the pins are limited by RLIMIT_MEMLOCK, counted per
 * descriptor: two descriptors of the same pages charge twice.
 */
static void create_user_over_memlock_fails(struct kunit *test)
{
	unsigned long uaddr = map_anon(test, 4);
	struct pmd_range r = { .addr = uaddr, .len = 4 * PAGE_SIZE };
	long locked = user_locked_vm(), pins = pins_held();
	struct mm_struct *mm = current->mm;

	KUNIT_EXPECT_PTR_EQ(test, create_limited(test, mm, &r, locked + 3),
			    ERR_PTR(-ENOMEM));
	KUNIT_EXPECT_EQ(test, user_locked_vm(), locked);
	KUNIT_EXPECT_EQ(test, atomic64_read(&mm->pinned_vm), 0);
	KUNIT_EXPECT_EQ(test, pins_held(), pins);

	hold(test, create_limited(test, mm, &r, locked + 7));
	KUNIT_EXPECT_PTR_EQ(test, create_limited(test, mm, &r, locked + 7),
			    ERR_PTR(-ENOMEM));
	KUNIT_EXPECT_EQ(test, user_locked_vm(), locked + 4);
	KUNIT_EXPECT_EQ(test, atomic64_read(&mm->pinned_vm), 4);
}

/*
 * The owner's address space goes away while a descriptor lives: copies fail
 * with -ESRCH and the last put still returns the charge.
 */
static void put_after_owner_exit_uncharges(struct kunit *test)
{
	unsigned long uaddr = map_anon(test, 3);
	struct mm_struct *mm = current->mm;
	long locked = user_locked_vm();
	struct pmdesc *d;

	d = create_one(test, uaddr, 3 * PAGE_SIZE, PMDESC_RW);
	KUNIT_EXPECT_EQ(test, user_locked_vm() - locked, 3);
	/* Do what exit_mm() would do with the KUnit mm. */
	kthread_unuse_mm(mm);
	mmput(mm);
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_copy_persistent(d), ERR_PTR(-ESRCH));
	kunit_release_action(test, pmdesc_put_action, d);
	KUNIT_EXPECT_EQ(test, user_locked_vm(), locked);
}

static struct kunit_case pmdesc_create_cases[] = {
	KUNIT_CASE(create_user_pins_and_charges_every_page),
	KUNIT_CASE(create_user_unaligned_ranges),
	KUNIT_CASE(create_user_multi_range),
	KUNIT_CASE(create_user_rejects_bad_arguments),
	KUNIT_CASE(create_user_unmapped_fails),
	KUNIT_CASE(create_user_read_only_mapping),
	KUNIT_CASE(create_user_over_memlock_fails),
	KUNIT_CASE(put_after_owner_exit_uncharges),
	{}
};

static struct kunit_suite pmdesc_create_suite = {
	.name = "pmdesc_create",
	.init = pmdesc_test_init,
	.test_cases = pmdesc_create_cases,
};

/* Writes go through device-writes descriptors only, into the same pages. */
static void write_bytes_needs_device_writes(struct kunit *test)
{
	unsigned long uaddr = map_anon(test, 2);
	static const char msg[] = "written through the descriptor";
	struct pmdesc *ro, *rw;
	char back[sizeof(msg)];

	ro = create_one(test, uaddr, 2 * PAGE_SIZE,
			PMD_F_PERSISTENT | PMD_F_DEVICE_READS);
	rw = create_one(test, uaddr, 2 * PAGE_SIZE, PMDESC_RW);
	KUNIT_EXPECT_EQ(test, pmdesc_write_bytes(ro, 0, msg, sizeof(msg)),
			-EPERM);
	KUNIT_EXPECT_EQ(test, pmdesc_write_bytes(rw, 2 * PAGE_SIZE, msg, 1),
			-EINVAL);
	KUNIT_ASSERT_EQ(test, pmdesc_write_bytes(rw, PAGE_SIZE - 3, msg,
						 sizeof(msg)), 0);
	KUNIT_ASSERT_EQ(test, copy_from_user(back, (void __user *)uaddr +
					     PAGE_SIZE - 3, sizeof(back)), 0);
	KUNIT_EXPECT_MEMEQ(test, back, msg, sizeof(msg));
	expect_bytes_match_user(test, ro, 0, uaddr, 2 * PAGE_SIZE);
}

static struct kunit_case pmdesc_bytes_cases[] = {
	KUNIT_CASE(write_bytes_needs_device_writes),
	{}
};

static struct kunit_suite pmdesc_bytes_suite = {
	.name = "pmdesc_bytes",
	.init = pmdesc_test_init,
	.test_cases = pmdesc_bytes_cases,
};

static void copy_persistent_rejects_bad_original(struct kunit *test)
{
	unsigned long uaddr = map_anon(test, 1);
	struct pmdesc *d;

	KUNIT_EXPECT_PTR_EQ(test, pmdesc_copy_persistent(NULL),
			    ERR_PTR(-EINVAL));
	d = create_one(test, uaddr, PAGE_SIZE,
		       PMD_F_DEVICE_READS | PMD_F_DEVICE_WRITES);
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_copy_persistent(d), ERR_PTR(-EINVAL));
}

/* Copy table: nothing done, or data written: the original. */
static void copy_persistent_unchanged_returns_original(struct kunit *test)
{
	unsigned long uaddr = map_anon(test, 3);
	struct pmdesc *d;

	d = create_one(test, uaddr + 100, 2 * PAGE_SIZE, PMDESC_RW);
	copy_expect_original(test, d);
	fill_user(test, uaddr, 3 * PAGE_SIZE, 42);
	copy_expect_original(test, d);
	expect_bytes_match_user(test, d, 0, uaddr + 100, 2 * PAGE_SIZE);
}

/*
 * The original path takes a reference: the pins go with the last of two
 * puts. The fresh path makes an independent descriptor.
 */
static void copy_persistent_refcounts(struct kunit *test)
{
	unsigned long uaddr = map_anon(test, 2);
	long pins = pins_held();
	struct pmdesc *d, *c;

	d = create_one(test, uaddr, 2 * PAGE_SIZE, PMDESC_RW);
	c = copy_expect_original(test, d);
	kunit_release_action(test, pmdesc_put_action, c);
	KUNIT_EXPECT_EQ(test, pins_held() - pins, 2);
	expect_bytes_match_user(test, d, 0, uaddr, 2 * PAGE_SIZE);
	kunit_release_action(test, pmdesc_put_action, d);
	KUNIT_EXPECT_EQ(test, pins_held(), pins);

	d = create_one(test, uaddr, 2 * PAGE_SIZE, PMDESC_RW);
	zap_user_page(test, uaddr);
	c = copy_expect_fresh(test, d);
	KUNIT_EXPECT_EQ(test, pins_held() - pins, 4);
	kunit_release_action(test, pmdesc_put_action, d);
	KUNIT_EXPECT_EQ(test, pins_held() - pins, 2);
	expect_bytes_match_user(test, c, 0, uaddr, 2 * PAGE_SIZE);
	kunit_release_action(test, pmdesc_put_action, c);
	KUNIT_EXPECT_EQ(test, pins_held(), pins);
}

/*
 * Copy table: munmap + anonymous MAP_FIXED mmap at the same address: fresh,
 * reading the new memory, while the original still reads the old data.
 */
static void remap_anon_expect_fresh(struct kunit *test, u32 flags, bool touch)
{
	unsigned long len = 2 * PAGE_SIZE, uaddr = map_anon(test, 2);
	u8 *old = kunit_kmalloc(test, len, GFP_KERNEL);
	u8 *got = kunit_kmalloc(test, len, GFP_KERNEL);
	struct pmdesc *d;

	KUNIT_ASSERT_NOT_NULL(test, old);
	KUNIT_ASSERT_NOT_NULL(test, got);
	KUNIT_ASSERT_EQ(test, copy_from_user(old, (void __user *)uaddr, len),
			0);
	d = create_one(test, uaddr, len, flags);
	KUNIT_ASSERT_EQ(test, vm_munmap(uaddr, len), 0);
	KUNIT_ASSERT_EQ(test, vm_mmap(NULL, uaddr, len, PROT_READ | PROT_WRITE,
				      MAP_ANONYMOUS | MAP_PRIVATE | MAP_FIXED,
				      0), uaddr);
	if (touch)
		fill_user(test, uaddr, len, 99);
	expect_bytes_match_user(test, copy_expect_fresh(test, d), 0, uaddr,
				len);
	KUNIT_ASSERT_EQ(test, pmdesc_read_bytes(d, 0, got, len), 0);
	KUNIT_EXPECT_MEMEQ(test, got, old, len);
}

static void copy_persistent_remapped_returns_fresh(struct kunit *test)
{
	remap_anon_expect_fresh(test, PMDESC_RW, true);
	remap_anon_expect_fresh(test, PMDESC_RW, false);
	remap_anon_expect_fresh(test, PMD_F_PERSISTENT | PMD_F_DEVICE_READS,
				false);
}

/* Copy table: munmap only: -EFAULT. */
static void copy_persistent_unmapped_fails(struct kunit *test)
{
	unsigned long uaddr = map_anon(test, 3);
	long pins = pins_held();
	struct pmdesc *d;

	d = create_one(test, uaddr, 3 * PAGE_SIZE, PMDESC_RW);
	KUNIT_ASSERT_EQ(test, vm_munmap(uaddr + PAGE_SIZE, PAGE_SIZE), 0);
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_copy_persistent(d), ERR_PTR(-EFAULT));
	KUNIT_EXPECT_EQ(test, pins_held() - pins, 3);
}

/* Copy table: MADV_DONTNEED of any one page: fresh. */
static void copy_persistent_dontneed_returns_fresh(struct kunit *test)
{
	unsigned long uaddr = map_anon(test, 3);
	unsigned long i;

	for (i = 0; i < 3; i++) {
		struct pmdesc *d = create_one(test, uaddr, 3 * PAGE_SIZE,
					      PMDESC_RW);
		struct pmdesc *c;
		unsigned long p;

		zap_user_page(test, uaddr + i * PAGE_SIZE);
		c = copy_expect_fresh(test, d);
		for (p = 0; p < 3; p++)
			KUNIT_EXPECT_EQ_MSG(test,
					    pmdesc_page(c, p) == pmdesc_page(d, p),
					    p != i, "zapped %lu, page %lu", i, p);
		fill_user(test, uaddr, 3 * PAGE_SIZE, 1);
	}
}

/* One range of several changed: fresh, over the same ranges. */
static void copy_persistent_multi_range_one_changed(struct kunit *test)
{
	unsigned long uaddr = map_anon(test, 6);
	struct pmd_range r[] = {
		{ .addr = uaddr + 4 * PAGE_SIZE + 7, .len = PAGE_SIZE },
		{ .addr = uaddr + 1, .len = PAGE_SIZE - 2 },
	};
	struct pmdesc *d, *c;

	d = create_ranges(test, r, ARRAY_SIZE(r), PMDESC_RW);
	copy_expect_original(test, d);
	zap_user_page(test, uaddr + 5 * PAGE_SIZE);
	fill_user(test, uaddr, 6 * PAGE_SIZE, 77);
	c = copy_expect_fresh(test, d);
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_page(c, 0), pmdesc_page(d, 0));
	KUNIT_EXPECT_PTR_NE(test, pmdesc_page(c, 1), pmdesc_page(d, 1));
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_page(c, 2), pmdesc_page(d, 2));
	expect_bytes_match_user(test, c, 0, r[0].addr, r[0].len);
	expect_bytes_match_user(test, c, r[0].len, r[1].addr, r[1].len);
}

/* A copy that must be fresh is charged in full, so it can fail on the limit. */
static void copy_persistent_fresh_over_memlock_fails(struct kunit *test)
{
	unsigned long uaddr = map_anon(test, 2);
	struct pmd_range r = { .addr = uaddr, .len = 2 * PAGE_SIZE };
	long locked = user_locked_vm();
	struct memlock_limit lim;
	struct pmdesc *d, *c;

	d = hold(test, create_limited(test, current->mm, &r, locked + 2));
	/* At the limit, the original needs no new charge. */
	limit_memlock(test, &lim, locked + 2);
	c = pmdesc_copy_persistent(d);
	unlimit_memlock(&lim);
	KUNIT_EXPECT_PTR_EQ(test, c, d);
	if (!IS_ERR(c))
		pmdesc_put(c);

	zap_user_page(test, uaddr + PAGE_SIZE);
	limit_memlock(test, &lim, locked + 2);
	c = pmdesc_copy_persistent(d);
	unlimit_memlock(&lim);
	KUNIT_EXPECT_PTR_EQ(test, c, ERR_PTR(-ENOMEM));
	KUNIT_EXPECT_EQ(test, user_locked_vm(), locked + 2);
	KUNIT_EXPECT_EQ(test, atomic64_read(&current->mm->pinned_vm), 2);
}

/*
 * An invalidation that changes nothing the descriptor recorded (here: a page
 * between its two ranges) moves the watch counter; the copy still returns
 * the original, through the slow path.
 */
static void copy_persistent_spurious_invalidation_returns_original(struct kunit *test)
{
	unsigned long uaddr = map_anon(test, 3);
	struct pmd_range r[] = {
		{ .addr = uaddr, .len = PAGE_SIZE },
		{ .addr = uaddr + 2 * PAGE_SIZE, .len = PAGE_SIZE },
	};
	/* Outlives the descriptor, whose release comes later. */
	atomic64_t *counter = kunit_kzalloc(test, sizeof(*counter), GFP_KERNEL);
	struct pmdesc *d;
	s64 seen;

	KUNIT_ASSERT_NOT_NULL(test, counter);
	d = create_ranges(test, r, ARRAY_SIZE(r), PMDESC_RW);
	KUNIT_ASSERT_EQ(test, pmdesc_watch(d, counter), 0);
	copy_expect_original(test, d);
	KUNIT_EXPECT_EQ(test, atomic64_read(counter), 0);
	zap_user_page(test, uaddr + PAGE_SIZE);
	KUNIT_EXPECT_GT(test, atomic64_read(counter), 0);
	copy_expect_original(test, d);
	seen = atomic64_read(counter);
	zap_user_page(test, uaddr + 2 * PAGE_SIZE);
	KUNIT_EXPECT_GT(test, atomic64_read(counter), seen);
	copy_expect_fresh(test, d);
}

static void watch_needs_persistent(struct kunit *test)
{
	unsigned long uaddr = map_anon(test, 1);
	atomic64_t counter = ATOMIC64_INIT(0);
	struct pmdesc *d;

	d = create_one(test, uaddr, PAGE_SIZE, PMD_F_DEVICE_READS);
	KUNIT_EXPECT_EQ(test, pmdesc_watch(d, &counter), -EINVAL);
}

struct invalidate_loop {
	struct mm_struct *mm;
	unsigned long uaddr;
	atomic_t stop;
	struct completion done;
};

/* Zap the page at @uaddr of @mm, populated or not, until told to stop. */
static int invalidate_loop_fn(void *data)
{
	struct invalidate_loop *il = data;
	struct vm_area_struct *vma;

	while (!atomic_read(&il->stop)) {
		mmap_read_lock(il->mm);
		vma = vma_lookup(il->mm, il->uaddr);
		if (vma)
			zap_page_range_single(vma, il->uaddr, PAGE_SIZE, NULL);
		mmap_read_unlock(il->mm);
		cond_resched();
	}
	complete(&il->done);
	return 0;
}

#define WATCH_SLOTS 16
#define WATCH_ROUNDS 50000

/*
 * Once pmdesc_watch() replaced a counter, no invalidation touches it any
 * more, so its owner may free it. While a thread keeps invalidating the
 * page between two ranges, hand counters out round-robin and replace each
 * one: each must keep the value it had when it was replaced. Measured: the
 * old lockless replacement let 17 of 50000 counters move late.
 */
static void watch_replacement_waits_for_callbacks(struct kunit *test)
{
	unsigned long uaddr = map_anon(test, 3);
	struct pmd_range r[] = {
		{ .addr = uaddr, .len = PAGE_SIZE },
		{ .addr = uaddr + 2 * PAGE_SIZE, .len = PAGE_SIZE },
	};
	struct invalidate_loop il = {
		.mm = current->mm,
		.uaddr = uaddr + PAGE_SIZE,
	};
	unsigned long i, slot, late = 0, counted = 0;
	struct task_struct *task;
	atomic64_t *counters;
	struct pmdesc *d;
	s64 *left_at;

	if (num_online_cpus() < 2)
		kunit_skip(test, "the race needs two CPUs");
	counters = kunit_kcalloc(test, WATCH_SLOTS, sizeof(*counters),
				 GFP_KERNEL);
	left_at = kunit_kcalloc(test, WATCH_SLOTS, sizeof(*left_at),
				GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, counters);
	KUNIT_ASSERT_NOT_NULL(test, left_at);
	d = create_ranges(test, r, ARRAY_SIZE(r), PMDESC_RW);
	init_completion(&il.done);
	task = kthread_run(invalidate_loop_fn, &il, "pmdesc-kunit-zap");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, task);
	for (i = 0; i < WATCH_ROUNDS; i++) {
		slot = i % WATCH_SLOTS;
		if (atomic64_read(&counters[slot]) != left_at[slot])
			late++;
		atomic64_set(&counters[slot], 0);
		pmdesc_watch(d, &counters[slot]);
		cond_resched();
		pmdesc_watch(d, NULL);
		left_at[slot] = atomic64_read(&counters[slot]);
		counted += left_at[slot];
	}
	atomic_set(&il.stop, 1);
	wait_for_completion(&il.done);
	KUNIT_EXPECT_EQ_MSG(test, late, 0,
			    "invalidations counted after the counter's replacement");
	KUNIT_EXPECT_GT_MSG(test, counted, 0, "no invalidation was counted");
}

struct copy_in_kthread {
	struct pmdesc *orig;
	struct pmdesc *copy;
	struct completion done;
};

static int copy_in_kthread_fn(void *data)
{
	struct copy_in_kthread *ck = data;

	ck->copy = pmdesc_copy_persistent(ck->orig);
	complete(&ck->done);
	return 0;
}

/* Copy from a task without the descriptor's mm (no mm at all). */
static struct pmdesc *copy_from_kthread(struct kunit *test, struct pmdesc *orig)
{
	struct copy_in_kthread ck = { .orig = orig };
	struct task_struct *task;

	init_completion(&ck.done);
	task = kthread_run(copy_in_kthread_fn, &ck, "pmdesc-kunit-copy");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, task);
	wait_for_completion(&ck.done);
	return hold(test, ck.copy);
}

/* The copy re-walks the descriptor's own mm, not the caller's. */
static void copy_persistent_from_other_task(struct kunit *test)
{
	unsigned long uaddr = map_anon(test, 2);
	struct pmdesc *d, *c;

	d = create_one(test, uaddr, 2 * PAGE_SIZE, PMDESC_RW);
	KUNIT_EXPECT_PTR_EQ(test, copy_from_kthread(test, d), d);
	zap_user_page(test, uaddr + PAGE_SIZE);
	c = copy_from_kthread(test, d);
	KUNIT_EXPECT_PTR_NE(test, c, d);
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_page(c, 0), pmdesc_page(d, 0));
	KUNIT_EXPECT_PTR_NE(test, pmdesc_page(c, 1), pmdesc_page(d, 1));
	expect_bytes_match_user(test, c, 0, uaddr, 2 * PAGE_SIZE);
}

static struct file *shmem_backing(struct kunit *test, size_t len)
{
	struct file *file = shmem_file_setup("pmdesc-kunit", len, 0);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, file);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, fput_action,
							file), 0);
	return file;
}

static unsigned long map_shared(struct kunit *test, struct file *file,
				unsigned long addr, size_t len)
{
	return map_user(test, file, addr, len, PROT_READ | PROT_WRITE,
			MAP_SHARED | (addr ? MAP_FIXED : 0));
}

/* Copy table: shared memfd, fallocate(PUNCH_HOLE) over one page: fresh. */
static void copy_persistent_punch_hole_returns_fresh(struct kunit *test)
{
	size_t len = 3 * PAGE_SIZE;
	struct file *file = shmem_backing(test, len);
	unsigned long uaddr = map_shared(test, file, 0, len);
	struct pmdesc *d, *c;

	fill_user(test, uaddr, len, 5);
	d = create_one(test, uaddr, len, PMDESC_RW);
	copy_expect_original(test, d);
	KUNIT_ASSERT_EQ(test, vfs_fallocate(file, FALLOC_FL_PUNCH_HOLE |
					    FALLOC_FL_KEEP_SIZE, PAGE_SIZE,
					    PAGE_SIZE), 0);
	c = copy_expect_fresh(test, d);
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_page(c, 0), pmdesc_page(d, 0));
	KUNIT_EXPECT_PTR_NE(test, pmdesc_page(c, 1), pmdesc_page(d, 1));
	expect_bytes_match_user(test, c, 0, uaddr, len);
}

/*
 * Copy table: shared memfd, munmap, then mmap of the same file pages at the same
 * address: the same real memory, so the original.
 */
static void copy_persistent_shmem_remapped_returns_original(struct kunit *test)
{
	size_t len = 2 * PAGE_SIZE;
	struct file *file = shmem_backing(test, len);
	unsigned long uaddr = map_shared(test, file, 0, len);
	struct pmdesc *d;

	fill_user(test, uaddr, len, 9);
	d = create_one(test, uaddr, len, PMDESC_RW);
	KUNIT_ASSERT_EQ(test, vm_munmap(uaddr, len), 0);
	KUNIT_ASSERT_EQ(test, map_shared(test, file, uaddr, len), uaddr);
	copy_expect_original(test, d);
}

#ifdef CONFIG_TRANSPARENT_HUGEPAGE
/* Copy table: a range over a transparent huge page, nothing done: original. */
static void copy_persistent_thp_returns_original(struct kunit *test)
{
	unsigned long uaddr, huge;
	struct pmdesc *d;

	uaddr = map_user(test, NULL, 0, 2 * HPAGE_PMD_SIZE,
			 PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE);
	huge = ALIGN(uaddr, HPAGE_PMD_SIZE);
	fill_user(test, huge, HPAGE_PMD_SIZE, 3);
	d = create_one(test, huge + PAGE_SIZE + 1,
		       HPAGE_PMD_SIZE - 2 * PAGE_SIZE, PMDESC_RW);
	KUNIT_ASSERT_TRUE_MSG(test, folio_test_large(page_folio(pmdesc_page(d, 0))),
			      "boot with transparent_hugepage=always");
	copy_expect_original(test, d);
	zap_user_page(test, huge + HPAGE_PMD_SIZE / 2);
	copy_expect_fresh(test, d);
}

static bool is_huge(struct page *page)
{
	return folio_test_large(page_folio(page));
}

/*
 * Ranges of whole huge pages, compared one PMD at a time: after a spurious
 * invalidation (a page zapped between the ranges) the original; after one
 * range got a new huge page, fresh.
 */
static void copy_persistent_whole_thps(struct kunit *test)
{
	unsigned long uaddr, huge, len = HPAGE_PMD_SIZE;
	struct pmd_range r[2];
	struct pmdesc *d;

	uaddr = map_user(test, NULL, 0, 4 * len, PROT_READ | PROT_WRITE,
			 MAP_ANONYMOUS | MAP_PRIVATE);
	huge = ALIGN(uaddr, len);
	fill_user(test, huge, 3 * len, 5);
	r[0] = (struct pmd_range){ .addr = huge, .len = len };
	r[1] = (struct pmd_range){ .addr = huge + 2 * len, .len = len };
	d = create_ranges(test, r, ARRAY_SIZE(r), PMDESC_RW);
	KUNIT_ASSERT_TRUE_MSG(test, is_huge(pmdesc_page(d, 0)) &&
			      is_huge(pmdesc_page(d, len >> PAGE_SHIFT)),
			      "boot with transparent_hugepage=always");
	zap_user_page(test, huge + len + PAGE_SIZE);
	copy_expect_original(test, d);

	KUNIT_ASSERT_EQ(test, vm_munmap(huge, len), 0);
	KUNIT_ASSERT_EQ(test, vm_mmap(NULL, huge, len, PROT_READ | PROT_WRITE,
				      MAP_ANONYMOUS | MAP_PRIVATE | MAP_FIXED,
				      0), huge);
	fill_user(test, huge, len, 6);
	KUNIT_EXPECT_TRUE(test, is_huge(pmdesc_page(copy_expect_fresh(test, d),
						    0)));
}
#endif

static struct kunit_case pmdesc_copy_cases[] = {
	KUNIT_CASE(copy_persistent_rejects_bad_original),
	KUNIT_CASE(copy_persistent_unchanged_returns_original),
	KUNIT_CASE(copy_persistent_refcounts),
	KUNIT_CASE(copy_persistent_remapped_returns_fresh),
	KUNIT_CASE(copy_persistent_unmapped_fails),
	KUNIT_CASE(copy_persistent_dontneed_returns_fresh),
	KUNIT_CASE(copy_persistent_multi_range_one_changed),
	KUNIT_CASE(copy_persistent_fresh_over_memlock_fails),
	KUNIT_CASE(copy_persistent_spurious_invalidation_returns_original),
	KUNIT_CASE(copy_persistent_from_other_task),
	KUNIT_CASE(watch_needs_persistent),
	KUNIT_CASE(watch_replacement_waits_for_callbacks),
	KUNIT_CASE(copy_persistent_punch_hole_returns_fresh),
	KUNIT_CASE(copy_persistent_shmem_remapped_returns_original),
#ifdef CONFIG_TRANSPARENT_HUGEPAGE
	KUNIT_CASE(copy_persistent_thp_returns_original),
	KUNIT_CASE(copy_persistent_whole_thps),
#endif
	{}
};

static struct kunit_suite pmdesc_copy_suite = {
	.name = "pmdesc_copy",
	.init = pmdesc_test_init,
	.test_cases = pmdesc_copy_cases,
};

static void expect_not_copyable(struct kunit *test, struct pmdesc *d)
{
	atomic64_t counter = ATOMIC64_INIT(0);

	KUNIT_EXPECT_PTR_EQ(test, pmdesc_copy_persistent(d), ERR_PTR(-EINVAL));
	KUNIT_EXPECT_EQ(test, pmdesc_watch(d, &counter), -EINVAL);
}

/* Fill kernel bytes with the pattern of fill_user(). */
static void fill_kernel(u8 *buf, size_t len, u8 seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = seed + i * 7;
}

/* Expect @d's bytes to equal @len bytes at @want, and to take writes. */
static void expect_kernel_bytes(struct kunit *test, struct pmdesc *d,
				u8 *want, size_t len)
{
	static const char msg[] = "through the descriptor";
	u8 *got = kunit_kmalloc(test, len, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, got);
	KUNIT_ASSERT_EQ(test, pmdesc_length(d), len);
	KUNIT_ASSERT_EQ(test, pmdesc_read_bytes(d, 0, got, len), 0);
	KUNIT_EXPECT_MEMEQ(test, got, want, len);
	KUNIT_ASSERT_EQ(test, pmdesc_write_bytes(d, len - sizeof(msg), msg,
						 sizeof(msg)), 0);
	KUNIT_EXPECT_MEMEQ(test, want + len - sizeof(msg), msg, sizeof(msg));
}

/* The physical address of byte @offset of kernel buffer @buf. */
static phys_addr_t kernel_phys(const u8 *buf, size_t offset)
{
	const u8 *p = buf + offset;
	struct page *page = is_vmalloc_addr(p) ? vmalloc_to_page(p) :
						 virt_to_page(p);

	return page_to_phys(page) + offset_in_page(p);
}

/*
 * Expect pmdesc_phys_segment() to cut @d, a descriptor of kernel buffer
 * @buf, into maximal runs: each ends where the next byte is not at the
 * physical address that follows.
 */
static void expect_kernel_segments(struct kunit *test, struct pmdesc *d,
				   const u8 *buf)
{
	size_t offset, len, i;
	phys_addr_t pa;

	for (offset = 0; offset < pmdesc_length(d); offset += len) {
		pa = pmdesc_phys_segment(d, offset, &len);
		KUNIT_ASSERT_GT(test, len, 0);
		KUNIT_ASSERT_LE(test, len, pmdesc_length(d) - offset);
		for (i = 0; i < len; i += PAGE_SIZE - offset_in_page(buf + offset + i))
			KUNIT_EXPECT_EQ(test, kernel_phys(buf, offset + i),
					pa + i);
		if (offset + len < pmdesc_length(d))
			KUNIT_EXPECT_NE(test, kernel_phys(buf, offset + len),
					pa + len);
	}
}

/*
 * Lowmem (kmalloc, physically contiguous): the pages of the buffer, one
 * physical segment, not copyable.
 */
static void create_kernel_lowmem(struct kunit *test)
{
	size_t len = 3 * PAGE_SIZE - 10;
	u8 *buf = kunit_kmalloc(test, 3 * PAGE_SIZE, GFP_KERNEL);
	long pins = pins_held();
	struct pmdesc *d;
	size_t seg;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	fill_kernel(buf, 3 * PAGE_SIZE, 1);
	d = hold(test, pmdesc_create_kernel(buf + 5, len, PMDESC_RW));
	KUNIT_EXPECT_EQ(test, pmdesc_nr_pages(d),
			DIV_ROUND_UP(offset_in_page(buf + 5) + len, PAGE_SIZE));
	KUNIT_EXPECT_EQ(test, pmdesc_nr_ranges(d), 1);
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_page(d, 0), virt_to_page(buf + 5));
	KUNIT_EXPECT_EQ(test, pmdesc_phys_segment(d, 0, &seg),
			virt_to_phys(buf + 5));
	KUNIT_EXPECT_EQ(test, seg, len);
	expect_kernel_bytes(test, d, buf + 5, len);
	expect_not_copyable(test, d);
	KUNIT_EXPECT_EQ(test, pins_held(), pins);
}

/* vmalloc: the page behind each page of the mapping, maximal segments. */
static void create_kernel_vmalloc(struct kunit *test)
{
	size_t len = 16 * PAGE_SIZE;
	struct pmdesc *d;
	unsigned long i;
	u8 *buf;

	buf = vmalloc(len);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, vfree_action,
							buf), 0);
	fill_kernel(buf, len, 2);
	d = hold(test, pmdesc_create_kernel(buf + 1, len - 1,
					    PMD_F_DEVICE_READS |
					    PMD_F_DEVICE_WRITES));
	KUNIT_ASSERT_EQ(test, pmdesc_nr_pages(d), 16);
	for (i = 0; i < 16; i++)
		KUNIT_EXPECT_PTR_EQ(test, pmdesc_page(d, i),
				    vmalloc_to_page(buf + i * PAGE_SIZE));
	expect_kernel_segments(test, d, buf + 1);
	expect_kernel_bytes(test, d, buf + 1, len - 1);
	expect_not_copyable(test, d);
}

static void create_kernel_rejects_bad_arguments(struct kunit *test)
{
	u8 *buf = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_create_kernel(buf, 0, 0),
			    ERR_PTR(-EINVAL));
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_create_kernel(buf, SIZE_MAX, 0),
			    ERR_PTR(-EINVAL));
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_create_kernel(buf, 1, ~PMDESC_F_VALID),
			    ERR_PTR(-EINVAL));
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_create_kernel(NULL, PAGE_SIZE, 0),
			    ERR_PTR(-EINVAL));
	/* A user address is neither lowmem nor vmalloc. */
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_create_kernel((void *)map_anon(test, 1),
						       PAGE_SIZE, 0),
			    ERR_PTR(-EINVAL));
}

static void free_pages_action(void *page)
{
	__free_pages(page, 2);
}

/* Four pages of the page allocator, freed when the test ends. */
static struct page *alloc_four_pages(struct kunit *test)
{
	struct page *page = alloc_pages(GFP_KERNEL, 2);

	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, free_pages_action,
							page), 0);
	return page;
}

/*
 * Four pages for a physical descriptor, which takes System RAM of the
 * resource tree only; UML registers none, the test is skipped there.
 */
static struct page *alloc_four_ram_pages(struct kunit *test)
{
	struct page *page = alloc_four_pages(test);

	if (region_intersects(page_to_phys(page), 4 * PAGE_SIZE,
			      IORESOURCE_SYSTEM_RAM, IORES_DESC_NONE) !=
	    REGION_INTERSECTS)
		kunit_skip(test, "no System RAM in the resource tree");
	return page;
}

/* A physical range: its page frames, one segment, not copyable. */
static void create_phys_describes_page_frames(struct kunit *test)
{
	struct page *page = alloc_four_ram_pages(test);
	phys_addr_t pa = page_to_phys(page) + 10;
	size_t len = 4 * PAGE_SIZE - 20, seg;
	struct pmdesc *d;
	unsigned long i;

	fill_kernel(page_address(page), 4 * PAGE_SIZE, 3);
	d = hold(test, pmdesc_create_phys(pa, len, PMDESC_RW));
	KUNIT_ASSERT_EQ(test, pmdesc_nr_pages(d), 4);
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_PTR_EQ(test, pmdesc_page(d, i), page + i);
	KUNIT_EXPECT_EQ(test, pmdesc_phys_segment(d, 0, &seg), pa);
	KUNIT_EXPECT_EQ(test, seg, len);
	KUNIT_EXPECT_EQ(test, pmdesc_phys_segment(d, len - 1, &seg),
			pa + len - 1);
	KUNIT_EXPECT_EQ(test, seg, 1);
	KUNIT_EXPECT_EQ(test, pmdesc_phys_segment(d, len, &seg), 0);
	KUNIT_EXPECT_EQ(test, seg, 0);
	expect_kernel_bytes(test, d, (u8 *)page_address(page) + 10, len);
	expect_not_copyable(test, d);
}

static void create_phys_rejects_bad_arguments(struct kunit *test)
{
	phys_addr_t pa = page_to_phys(alloc_four_ram_pages(test));

	KUNIT_EXPECT_PTR_EQ(test, pmdesc_create_phys(pa, 0, 0),
			    ERR_PTR(-EINVAL));
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_create_phys(pa, SIZE_MAX, 0),
			    ERR_PTR(-EINVAL));
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_create_phys(pa, 1, ~PMDESC_F_VALID),
			    ERR_PTR(-EINVAL));
	/* The last page frames there are: not memory on any test machine. */
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_create_phys(ALIGN_DOWN(PHYS_ADDR_MAX,
								PAGE_SIZE) -
						     PAGE_SIZE, PAGE_SIZE, 0),
			    ERR_PTR(-EINVAL));
	/* RAM, then a tebibyte that is not: refused before any allocation. */
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_create_phys(pa, 1ULL << 40, 0),
			    ERR_PTR(-EINVAL));
}

/*
 * Page frames that have online struct pages but are not System RAM: the
 * legacy VGA hole at 0xa0000 of a PC is in the first memory section.
 */
static void create_phys_rejects_holes(struct kunit *test)
{
	const phys_addr_t hole = 0xa0000;

	if (!IS_ENABLED(CONFIG_X86) || !pfn_to_online_page(PHYS_PFN(hole)))
		kunit_skip(test, "no PC memory map");
	KUNIT_EXPECT_NE(test, region_intersects(hole, PAGE_SIZE,
						IORESOURCE_SYSTEM_RAM,
						IORES_DESC_NONE),
			REGION_INTERSECTS);
	KUNIT_EXPECT_PTR_EQ(test, pmdesc_create_phys(hole, PAGE_SIZE, 0),
			    ERR_PTR(-EINVAL));
}

/* A length no page array can hold is an error, not an allocation warning. */
static void create_kernel_huge_length_fails(struct kunit *test)
{
	void *buf = page_address(alloc_four_pages(test));

	KUNIT_EXPECT_TRUE(test, IS_ERR(pmdesc_create_kernel(buf, 1ULL << 40,
							    0)));
}

static struct kunit_case pmdesc_kernel_cases[] = {
	KUNIT_CASE(create_kernel_lowmem),
	KUNIT_CASE(create_kernel_vmalloc),
	KUNIT_CASE(create_kernel_rejects_bad_arguments),
	KUNIT_CASE(create_phys_describes_page_frames),
	KUNIT_CASE(create_phys_rejects_bad_arguments),
	KUNIT_CASE(create_phys_rejects_holes),
	KUNIT_CASE(create_kernel_huge_length_fails),
	{}
};

static struct kunit_suite pmdesc_kernel_suite = {
	.name = "pmdesc_kernel",
	.init = pmdesc_test_init,
	.test_cases = pmdesc_kernel_cases,
};

/* Build @d's scatterlist, freed when the test ends. */
static struct sg_table *sg_table_of(struct kunit *test, struct pmdesc *d,
				    unsigned int max_segment)
{
	struct sg_table *sgt = kunit_kzalloc(test, sizeof(*sgt), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, sgt);
	KUNIT_ASSERT_EQ(test, pmdesc_sg_table(d, sgt, max_segment, GFP_KERNEL),
			0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							sg_free_table_action,
							sgt), 0);
	return sgt;
}

/*
 * Expect @sgt to be @d cut into the runs of pmdesc_phys_segment(), split at
 * @max_segment bytes: each entry starts where the run at its offset does
 * and is as long as the run, or @max_segment; an entry that stops short of
 * @max_segment is not followed by the next physical address.
 */
static void expect_runs(struct kunit *test, struct pmdesc *d,
			struct sg_table *sgt, unsigned int max_segment)
{
	unsigned int i, last = UINT_MAX;
	struct scatterlist *sg;
	size_t offset = 0, run;
	phys_addr_t end = 0;

	for_each_sgtable_sg(sgt, sg, i) {
		KUNIT_EXPECT_EQ(test, sg_phys(sg),
				pmdesc_phys_segment(d, offset, &run));
		KUNIT_EXPECT_EQ(test, sg->length, min_t(size_t, run, max_segment));
		if (last < max_segment)
			KUNIT_EXPECT_NE(test, sg_phys(sg), end);
		end = sg_phys(sg) + sg->length;
		last = sg->length;
		offset += sg->length;
	}
	KUNIT_EXPECT_EQ(test, offset, pmdesc_length(d));
}

/* One contiguous range: one entry, or entries of @max_segment bytes. */
static void sg_table_coalesces_and_splits(struct kunit *test)
{
	struct page *page = alloc_four_pages(test);
	size_t len = 4 * PAGE_SIZE - 20;
	struct pmdesc *d;
	struct sg_table *sgt, bad;

	d = hold(test, pmdesc_create_kernel(page_address(page) + 10, len,
					    PMD_F_DEVICE_READS));
	sgt = sg_table_of(test, d, UINT_MAX);
	KUNIT_ASSERT_EQ(test, sgt->orig_nents, 1);
	KUNIT_EXPECT_PTR_EQ(test, sg_page(sgt->sgl), page);
	KUNIT_EXPECT_EQ(test, sgt->sgl->offset, 10);
	KUNIT_EXPECT_EQ(test, sgt->sgl->length, len);

	sgt = sg_table_of(test, d, PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, sgt->orig_nents, 4);
	expect_runs(test, d, sgt, PAGE_SIZE);
	/* Rounded down to two pages. */
	sgt = sg_table_of(test, d, 3 * PAGE_SIZE - 1);
	KUNIT_EXPECT_EQ(test, sgt->orig_nents, 2);
	expect_runs(test, d, sgt, 2 * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, pmdesc_sg_table(d, &bad, PAGE_SIZE - 1,
					      GFP_KERNEL), -EINVAL);
}

/* User ranges: the pinned pages, in order, in maximal runs. */
static void sg_table_of_user_ranges(struct kunit *test)
{
	unsigned long uaddr = map_anon(test, 8);
	struct pmd_range r[] = {
		{ .addr = uaddr + 3 * PAGE_SIZE + 100, .len = 4 * PAGE_SIZE },
		{ .addr = uaddr + 5, .len = 2 * PAGE_SIZE },
	};
	struct sg_table *sgt;
	struct pmdesc *d;
	size_t len;
	u8 *want, *got;

	d = create_ranges(test, r, ARRAY_SIZE(r), PMD_F_DEVICE_READS);
	len = pmdesc_length(d);
	sgt = sg_table_of(test, d, UINT_MAX);
	expect_runs(test, d, sgt, UINT_MAX);
	want = kunit_kmalloc(test, len, GFP_KERNEL);
	got = kunit_kmalloc(test, len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, want);
	KUNIT_ASSERT_NOT_NULL(test, got);
	KUNIT_ASSERT_EQ(test, pmdesc_read_bytes(d, 0, want, len), 0);
	KUNIT_ASSERT_EQ(test, sg_copy_to_buffer(sgt->sgl, sgt->orig_nents, got,
						len), len);
	KUNIT_EXPECT_MEMEQ(test, got, want, len);
}

#if IS_ENABLED(CONFIG_HAS_DMA)
/* The table maps for DMA as it is: one DMA segment per entry or fewer. */
static void sg_table_maps_for_dma(struct kunit *test)
{
	struct page *page = alloc_four_pages(test);
	struct scatterlist *sg;
	struct sg_table *sgt;
	struct device *dev;
	size_t mapped = 0;
	struct pmdesc *d;
	unsigned int i;

	dev = kunit_device_register(test, "pmdesc-dma");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	dev->dma_mask = &dev->coherent_dma_mask;
	KUNIT_ASSERT_EQ(test, dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64)),
			0);
	d = hold(test, pmdesc_create_kernel(page_address(page), 4 * PAGE_SIZE,
					    PMD_F_DEVICE_WRITES));
	sgt = sg_table_of(test, d, PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, dma_map_sgtable(dev, sgt, DMA_FROM_DEVICE, 0), 0);
	KUNIT_EXPECT_GE(test, sgt->nents, 1);
	for_each_sgtable_dma_sg(sgt, sg, i)
		mapped += sg_dma_len(sg);
	KUNIT_EXPECT_EQ(test, mapped, 4 * PAGE_SIZE);
	dma_unmap_sgtable(dev, sgt, DMA_FROM_DEVICE, 0);
}
#endif

#ifdef CONFIG_TRANSPARENT_HUGEPAGE
/* Ranges over transparent huge pages: segments of a huge page each. */
static void sg_table_thp_gives_huge_segments(struct kunit *test)
{
	unsigned long uaddr, huge;
	struct scatterlist *sg;
	struct sg_table *sgt;
	struct pmdesc *d;
	unsigned int i;
	size_t len;

	uaddr = map_user(test, NULL, 0, 3 * HPAGE_PMD_SIZE,
			 PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE);
	huge = ALIGN(uaddr, HPAGE_PMD_SIZE);
	fill_user(test, huge, 2 * HPAGE_PMD_SIZE, 4);
	d = create_one(test, huge, 2 * HPAGE_PMD_SIZE, PMD_F_DEVICE_READS);
	KUNIT_ASSERT_TRUE_MSG(test, folio_test_large(page_folio(pmdesc_page(d, 0))),
			      "boot with transparent_hugepage=always");
	KUNIT_EXPECT_TRUE(test, IS_ALIGNED(pmdesc_phys_segment(d, 0, &len),
					   HPAGE_PMD_SIZE));
	KUNIT_EXPECT_GE(test, len, HPAGE_PMD_SIZE);
	sgt = sg_table_of(test, d, HPAGE_PMD_SIZE);
	KUNIT_EXPECT_EQ(test, sgt->orig_nents, 2);
	for_each_sgtable_sg(sgt, sg, i) {
		KUNIT_EXPECT_EQ(test, sg->length, HPAGE_PMD_SIZE);
		KUNIT_EXPECT_TRUE(test, IS_ALIGNED(sg_phys(sg), HPAGE_PMD_SIZE));
	}
}
#endif

static struct kunit_case pmdesc_dma_cases[] = {
	KUNIT_CASE(sg_table_coalesces_and_splits),
	KUNIT_CASE(sg_table_of_user_ranges),
#if IS_ENABLED(CONFIG_HAS_DMA)
	KUNIT_CASE(sg_table_maps_for_dma),
#endif
#ifdef CONFIG_TRANSPARENT_HUGEPAGE
	KUNIT_CASE(sg_table_thp_gives_huge_segments),
#endif
	{}
};

static struct kunit_suite pmdesc_dma_suite = {
	.name = "pmdesc_dma",
	.init = pmdesc_test_init,
	.test_cases = pmdesc_dma_cases,
};

kunit_test_suites(&pmdesc_create_suite, &pmdesc_bytes_suite,
		  &pmdesc_copy_suite, &pmdesc_kernel_suite, &pmdesc_dma_suite);

MODULE_DESCRIPTION("KUnit tests for persistent memory descriptors");
MODULE_LICENSE("GPL");
