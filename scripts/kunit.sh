#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Run the project's KUnit suites with the kernel's own kunit.py, in a tree
# extracted once from Debian's linux-source-6.12 into .cache/.
#
# usage: scripts/kunit.sh um|x86_64 [more kunit.py run arguments]
#   um      User-Mode Linux, the fast default
#   x86_64  under QEMU (TCG), with KASAN, lockdep, DEBUG_VM and THP
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
arch=${1:-um}
[ $# -eq 0 ] || shift
cache=$top/.cache
tree=$("$top/scripts/hook-tree.sh")

kunitdir=drivers/misc/pmdesc/kunit
case "$arch" in
um)
	set -- --kunitconfig="$kunitdir" "$@"
	;;
x86_64)
	set -- --arch=x86_64 --kunitconfig="$kunitdir" \
		--kunitconfig="$kunitdir/debug.kunitconfig" \
		--kernel_args=transparent_hugepage=always \
		--qemu_args="-m 1024" --timeout=1200 "$@"
	;;
*)
	echo "usage: $0 um|x86_64 [kunit.py run arguments]" >&2
	exit 2
	;;
esac

cd "$tree"
python3 tools/testing/kunit/kunit.py run --build_dir="$cache/kunit-$arch" \
	--jobs="$(nproc)" "$@"

# kunit.py fails a test on a KASAN report, not on a lockdep or WARN splat.
# Look from the first test on: UML warns about virt-pci at every boot.
if sed -n '/^K\{0,1\}TAP version/,$p' "$cache/kunit-$arch/test.log" |
	grep -E 'WARNING:|BUG:|Oops|Call Trace|KASAN: |possible circular'; then
	echo "$0: the kernel reported a problem during the tests" >&2
	exit 1
fi
