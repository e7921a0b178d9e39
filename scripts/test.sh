#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The whole test suite, as CI runs it: installs what is missing (Debian 12,
# as root), builds pmdesc.ko warning-free (W=1, sparse) against Debian's 6.1
# and 6.12 headers, checks style (checkpatch --strict) and kernel-doc, runs
# the KUnit suites under ARCH=um and on an x86_64 debug kernel in QEMU, then
# the ioctl tests in the dev VM on both Debian kernels, the tests, stress,
# fuzzer and fault injection on a debug kernel, and a short run of the
# benchmark (figures only, no timing assertions).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

scripts/deps.sh make gcc libc6-dev python3 xz-utils bc flex bison libelf-dev \
	libssl-dev sparse linux-headers-amd64 linux-headers-6.12-amd64 \
	linux-source-6.12 qemu-system-x86 busybox-static cpio gzip

passed=0
failed=0
result() {
	if [ "$1" -eq 0 ]; then
		passed=$((passed + 1))
		echo "ok - $2"
	else
		failed=$((failed + 1))
		echo "not ok - $2"
	fi
}

for series in 6.1 6.12; do
	kdir=$(scripts/kdir.sh "$series")
	log=$top/.cache/build-$series.log
	mkdir -p "$top/.cache"
	rc=0
	make -s KDIR="$kdir" W=1 C=2 > "$log" 2>&1 || rc=$?
	cat "$log"
	if [ "$rc" -eq 0 ] && grep -qi 'warning' "$log"; then
		echo "warnings in the $series build"
		rc=1
	fi
	result "$rc" "build pmdesc.ko with W=1 and sparse against $kdir"
done

tree=$(scripts/linux-tree.sh)
kernel_sources="pmd.c pmd.h pmd_ioctl.c pmd_dev.h pmd_trace.h uapi/pmd.h kunit/pmd_kunit.c"
rc=0
out=$(perl "$tree/scripts/checkpatch.pl" --no-tree --strict --terse \
	-f $kernel_sources 2>&1 | grep -E 'ERROR|WARNING|CHECK' || true)
[ -z "$out" ] || { echo "$out"; rc=1; }
result "$rc" "checkpatch.pl --strict on the kernel sources"
rc=0
out=$(perl "$tree/scripts/kernel-doc" -none -Wall pmd.c pmd.h pmd_ioctl.c \
	uapi/pmd.h 2>&1) || rc=$?
[ -z "$out" ] || { echo "$out"; rc=1; }
result "$rc" "kernel-doc -none -Wall on the API and uAPI headers and sources"

rc=0
scripts/kunit.sh um || rc=$?
result "$rc" "kunit.py run (ARCH=um)"
rc=0
scripts/kunit.sh x86_64 || rc=$?
result "$rc" "kunit.py run (x86_64, KASAN, lockdep, DEBUG_VM)"

for series in 6.1 6.12; do
	rc=0
	scripts/vm-run.sh -k "$series" pmd_test || rc=$?
	result "$rc" "pmd_test in the dev VM on Debian's $series kernel"
done

# On the debug kernel: the tests, then bounded stress, fuzzing and fault
# injection; any kernel report or kmemleak leak fails the step.
for target in vm-test-debug "stress STRESS_SECONDS=20" "fuzz FUZZ_CALLS=20000" \
	faultinject; do
	rc=0
	# shellcheck disable=SC2086
	make $target || rc=$?
	result "$rc" "make $target (debug kernel: KASAN, lockdep, kmemleak)"
done

rc=0
PMD_PROGRAMS=pmd_bench scripts/vm-run.sh -k 6.12 pmd_bench --short || rc=$?
result "$rc" "pmd_bench --short in the dev VM on 6.12"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
