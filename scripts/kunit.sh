#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Run the project's KUnit suites, and read their results with the kernel's
# own kunit.py.
#
# usage: scripts/kunit.sh um|um-llvm|x86_64 [more kunit.py run arguments]
#   um       kunit.py run: User-Mode Linux, in a tree extracted once from
#            Debian's linux-source-6.12 into .cache/, the fast default
#   um-llvm  the same, kernel and module built with clang (LLVM=1, W=1):
#            modules cannot be built with clang against Debian's gcc-built
#            headers, whose configs carry gcc-only flags, so this is the
#            project's clang build; any clang warning in its files fails it
#   x86_64   the dev VM's debug kernel (KASAN, lockdep, DEBUG_VM, kmemleak,
#            two CPUs, THP always), which carries the suites as a module:
#            no kernel is built for KUnit alone. The VM loads it, and
#            kunit.py parse reads the results from the console
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
arch=${1:-um}
[ $# -eq 0 ] || shift
cache=$top/.cache
tree=$("$top/scripts/hook-tree.sh")
pmddir=drivers/misc/pmdesc
kunitdir=$pmddir/kunit
log=$cache/kunit-$arch.log

# The suites' module in the debug kernel's VM; its console into $log.
run_in_debug_vm() {
	debug=$("$top/scripts/debug-kernel.sh")
	rc=0
	PMD_PROGRAMS=' ' "$top/scripts/vm-run.sh" -k debug -m 1G \
		-f "$debug/$kunitdir/pmdesc_kunit.ko" \
		"echo always > /sys/kernel/mm/transparent_hugepage/enabled &&
		 insmod /pmdesc_kunit.ko && rmmod pmdesc_kunit" > "$log" 2>&1 ||
		rc=$?
	python3 "$tree/tools/testing/kunit/kunit.py" parse "$log" || rc=1
	grep -q '^# Totals: pass:[1-9]' "$log" ||
		{ echo "$0: no KUnit test ran" >&2; rc=1; }
	[ "$rc" -eq 0 ] || { tail -n 40 "$log"; exit "$rc"; }
}

case "$arch" in
um)
	set -- --kunitconfig="$kunitdir" "$@"
	;;
um-llvm)
	set -- --kunitconfig="$kunitdir" --make_options LLVM=1 \
		--make_options W=1 "$@"
	# Compile the project's files every time, so their warnings show.
	rm -f "$cache/kunit-$arch/$pmddir"/*.o "$cache/kunit-$arch/$pmddir"/kunit/*.o
	;;
x86_64)
	run_in_debug_vm
	exit 0
	;;
*)
	echo "usage: $0 um|um-llvm|x86_64 [kunit.py run arguments]" >&2
	exit 2
	;;
esac

cd "$tree"
rc=0
python3 tools/testing/kunit/kunit.py run --build_dir="$cache/kunit-$arch" \
	--jobs="$(nproc)" "$@" > "$log" 2>&1 || rc=$?
# The build's warnings for the whole kernel are in the log; ours are few.
grep -v ': warning: \|^In file included\|^ ' "$log" || true
[ "$rc" -eq 0 ] || exit "$rc"
if grep -E "^[^ ]*$pmddir/[^ ]*:[0-9]+:[0-9]+: warning:" "$log"; then
	echo "$0: warnings in the project's files" >&2
	exit 1
fi

# kunit.py fails a test on a KASAN report, not on a lockdep or WARN splat.
# Look from the first test on: UML warns about virt-pci at every boot.
if sed -n '/^K\{0,1\}TAP version/,$p' "$cache/kunit-$arch/test.log" |
	grep -E 'WARNING:|BUG:|Oops|Call Trace|KASAN: |possible circular'; then
	echo "$0: the kernel reported a problem during the tests" >&2
	exit 1
fi
