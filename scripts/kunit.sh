#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Run the project's KUnit suites with the kernel's own kunit.py, in a tree
# extracted once from Debian's linux-source-6.12 into .cache/.
#
# usage: scripts/kunit.sh um|um-llvm|x86_64 [more kunit.py run arguments]
#   um       User-Mode Linux, the fast default
#   um-llvm  the same, kernel and module built with clang (LLVM=1, W=1):
#            modules cannot be built with clang against Debian's gcc-built
#            headers, whose configs carry gcc-only flags, so this is the
#            project's clang build; any clang warning in its files fails it
#   x86_64   under QEMU (TCG), with KASAN, lockdep, DEBUG_VM and THP
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
arch=${1:-um}
[ $# -eq 0 ] || shift
cache=$top/.cache
tree=$("$top/scripts/hook-tree.sh")

pmddir=drivers/misc/pmdesc
kunitdir=$pmddir/kunit
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
	set -- --arch=x86_64 --kunitconfig="$kunitdir" \
		--kunitconfig="$kunitdir/debug.kunitconfig" \
		--kernel_args=transparent_hugepage=always \
		--qemu_args="-m 1024 -smp 2" --timeout=1200 "$@"
	;;
*)
	echo "usage: $0 um|um-llvm|x86_64 [kunit.py run arguments]" >&2
	exit 2
	;;
esac

cd "$tree"
log=$cache/kunit-$arch.log
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
