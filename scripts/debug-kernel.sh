#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Build the dev VM's debug kernel (KASAN, lockdep, DEBUG_VM, kmemleak, fault
# injection) from the extracted linux-source-6.12, with pmdesc.ko and its
# KUnit suites (pmdesc_kunit.ko) built in-tree as modules of it, into
# .cache/debug-kernel/. Incremental.
# Prints the build directory.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
tree=$("$top/scripts/hook-tree.sh")
out=$top/.cache/debug-kernel
mkdir -p "$out"
(
	flock 9
	if [ ! -f "$out/.config" ] || [ "$top/scripts/debug.config" -nt "$out/.config" ]; then
		make -s -C "$tree" O="$out" ARCH=x86_64 allnoconfig >&2
		(cd "$tree" && ARCH=x86_64 scripts/kconfig/merge_config.sh -m \
			-O "$out" "$out/.config" "$top/scripts/debug.config") >&2
		make -s -C "$tree" O="$out" ARCH=x86_64 olddefconfig >&2
		for opt in KASAN PROVE_LOCKING DEBUG_VM DEBUG_KMEMLEAK FAILSLAB \
			   FAIL_PAGE_ALLOC MODULES UNIX EVENT_TRACING PMDESC BLK_DEV_LOOP \
			   EXT4_FS MEMCG NUMA_BALANCING KUNIT PMDESC_KUNIT_TEST; do
			grep -Eq "^CONFIG_$opt=(y|m)" "$out/.config" ||
				{ echo "$0: CONFIG_$opt did not stick" >&2; exit 1; }
		done
	fi
	make -s -C "$tree" O="$out" ARCH=x86_64 -j"$(nproc)" bzImage modules >&2
) 9> "$top/.cache/debug-kernel.lock"
echo "$out"
