/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the pmdesc KUnit suites share: the leak check every case ends with,
 * user memory mapped into a KUnit-owned address space with kunit_vm_mmap(),
 * descriptors put when the case ends, and the checks of their bytes.
 */
#ifndef _PMD_KUNIT_UTIL_H
#define _PMD_KUNIT_UTIL_H

#include <kunit/test.h>
#include <linux/cred.h>
#include <linux/resource.h>
#include <linux/types.h>

#include "../pmd.h"

struct file;
struct mm_struct;
struct page;

#define PMDESC_RW (PMD_F_PERSISTENT | PMD_F_DEVICE_READS | PMD_F_DEVICE_WRITES)

/**
 * PMDESC_TEST_SUITE() - Define a suite of the pmdesc KUnit tests.
 * @suite_name: the suite's name, also the prefix of its symbols.
 *
 * Defines ``<suite_name>_suite`` over the cases ``<suite_name>_cases``,
 * with pmdesc_test_init() as the init of every case. Register it with
 * kunit_test_suites().
 */
#define PMDESC_TEST_SUITE(suite_name)					\
	static struct kunit_suite suite_name##_suite = {		\
		.name = #suite_name,					\
		.init = pmdesc_test_init,				\
		.test_cases = suite_name##_cases,			\
	}

/**
 * struct pmdesc_test_memlock - What pmdesc_test_limit_memlock() replaced.
 * @saved: the task's RLIMIT_MEMLOCK before.
 * @old_cred: the credentials before, with CAP_IPC_LOCK as they had it.
 */
/**
 * struct pmdesc_test_watcher - a pmdesc_watch() watcher that counts its calls
 * @w: the watcher
 * @calls: how often @w was called
 */
struct pmdesc_test_watcher {
	struct pmdesc_watcher w;
	atomic64_t calls;
};

struct pmdesc_test_watcher *pmdesc_test_watcher(struct kunit *test);

struct pmdesc_test_memlock {
	struct rlimit saved;
	const struct cred *old_cred;
};

int pmdesc_test_init(struct kunit *test);
long pmdesc_test_pins_held(void);
long pmdesc_test_locked_vm(void);

unsigned long pmdesc_test_map_user(struct kunit *test, struct file *file,
				   unsigned long addr, size_t len,
				   unsigned long prot, unsigned long flags);
void pmdesc_test_fill_user(struct kunit *test, unsigned long uaddr,
			   size_t len, u8 seed);
unsigned long pmdesc_test_map_anon(struct kunit *test, unsigned long npages);
void pmdesc_test_zap_page(struct kunit *test, unsigned long uaddr);

struct pmdesc *pmdesc_test_hold(struct kunit *test, struct pmdesc *d);
void pmdesc_test_put(struct kunit *test, struct pmdesc *d);
struct pmdesc *pmdesc_test_create_ranges(struct kunit *test,
					 const struct pmd_range *ranges,
					 unsigned int nr_ranges, u32 flags);
struct pmdesc *pmdesc_test_create_one(struct kunit *test, unsigned long uaddr,
				      size_t len, u32 flags);
void pmdesc_test_expect_user_bytes(struct kunit *test, const struct pmdesc *d,
				   size_t offset, unsigned long uaddr,
				   size_t len);

void pmdesc_test_limit_memlock(struct kunit *test,
			       struct pmdesc_test_memlock *lim,
			       unsigned long pages);
void pmdesc_test_unlimit_memlock(struct pmdesc_test_memlock *lim);
struct pmdesc *pmdesc_test_create_limited(struct kunit *test,
					  struct mm_struct *mm,
					  const struct pmd_range *r,
					  unsigned long limit_pages);

void pmdesc_test_fill_kernel(u8 *buf, size_t len, u8 seed);
void pmdesc_test_expect_kernel_bytes(struct kunit *test, struct pmdesc *d,
				     u8 *want, size_t len);
void pmdesc_test_expect_not_copyable(struct kunit *test, struct pmdesc *d);
void pmdesc_test_expect_bad_len_flags(struct kunit *test,
				      struct pmdesc *(*create)(const void *kaddr,
							       size_t len,
							       u32 flags),
				      const void *kaddr);
struct page *pmdesc_test_alloc_four_pages(struct kunit *test);

/**
 * pmdesc_test_need_thp() - Skip the case on a kernel without THP.
 * @test: the case.
 *
 * Inline, so that the compiler sees the case end here and drops the
 * HPAGE_PMD_SIZE after it, which does not build without
 * CONFIG_TRANSPARENT_HUGEPAGE. Call it before any use of HPAGE_PMD_*.
 */
static __always_inline void pmdesc_test_need_thp(struct kunit *test)
{
	if (!IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE))
		kunit_skip(test, "no CONFIG_TRANSPARENT_HUGEPAGE");
}

#endif /* _PMD_KUNIT_UTIL_H */
