/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The checked forms of libpmd for kselftest harness tests: each ASSERTs
 * that the raw call of libpmd.h succeeded (or failed with the errno given),
 * as tools/testing/selftests/iommu/iommufd_utils.h does for iommufd. They
 * need the harness's _metadata, so they work in TEST, TEST_F and
 * FIXTURE_SETUP bodies and in helpers that take _metadata.
 */
#ifndef PMD_TEST_UTILS_H
#define PMD_TEST_UTILS_H

#include "kselftest_harness.h"
#include "lib/libpmd.h"

#define PMD_RW (PMD_F_PERSISTENT | PMD_F_DEVICE_READS | PMD_F_DEVICE_WRITES)

#define test_pmd_create(fd, addr, len, flags, handle) \
	ASSERT_EQ(0, _pmd_create(fd, addr, len, flags, handle))
#define test_err_pmd_create(err, fd, addr, len, flags, handle) \
	ASSERT_EQ(-(err), _pmd_create(fd, addr, len, flags, handle))
#define test_pmd_create_ranges(fd, r, nr, flags, handle) \
	ASSERT_EQ(0, _pmd_create_ranges(fd, r, nr, flags, handle))
#define test_err_pmd_create_ranges(err, fd, r, nr, flags, handle) \
	ASSERT_EQ(-(err), _pmd_create_ranges(fd, r, nr, flags, handle))
/* COPY that must return @result (PMD_COPY_ORIGINAL or PMD_COPY_FRESH). */
#define test_pmd_copy(result, fd, handle, new_handle) \
	ASSERT_EQ(result, _pmd_copy(fd, handle, new_handle))
#define test_err_pmd_copy(err, fd, handle, new_handle) \
	ASSERT_EQ(-(err), _pmd_copy(fd, handle, new_handle))
#define test_pmd_release(fd, handle) \
	ASSERT_EQ(0, _pmd_release(fd, handle))
#define test_pmd_info(fd, handle, info) \
	ASSERT_EQ(0, _pmd_info(fd, handle, info))
#define test_pmd_read(fd, handle, offset, buf, len) \
	ASSERT_EQ(0, _pmd_read(fd, handle, offset, buf, len))

/* The status area of @fd, mapped; the test fails if it cannot be. */
#define test_pmd_status_map(fd) ({ \
	const __u64 *__area = _pmd_status_map(fd); \
	ASSERT_NE(NULL, __area) TH_LOG("mmap status area: %s", strerror(errno)); \
	__area; })

/*
 * In a forked child, where the harness's ASSERTs cannot report: on a false
 * @cond, print what failed and where, and exit 1. in_child() runs such
 * children; the test asserts that they exited 0.
 */
#define CHILD_CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: in the child: %s\n", __FILE__, \
			__LINE__, #cond); \
		_exit(1); \
	} \
} while (0)

#endif
