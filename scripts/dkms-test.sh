#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# dkms add and dkms build of the project's source files against each given
# kernel build tree, in a private DKMS tree under .cache/dkms (nothing is
# installed or registered system-wide).
#
# usage: scripts/dkms-test.sh KDIR...
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -gt 0 ] || { echo "usage: $0 KDIR..." >&2; exit 2; }
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top/dkms.conf")
work=$top/.cache/dkms
rm -rf "$work"
src=$work/src/pmdesc-$ver
mkdir -p "$src" "$work/tree"
# What a source package holds: no caches, no build outputs.
(cd "$top" && tar cf - dkms.conf Makefile Kbuild Kconfig ./*.c ./*.h uapi \
	kunit scripts/link-sources.sh) | tar xf - -C "$src"
dkms() {
	command dkms "$@" --dkmstree "$work/tree" --sourcetree "$work/src"
}
dkms add -m pmdesc -v "$ver"
for kdir in "$@"; do
	kver=$(sed -n 's/.*UTS_RELEASE "\(.*\)"/\1/p' \
		"$kdir/include/generated/utsrelease.h")
	dkms build -m pmdesc -v "$ver" -k "$kver" --kernelsourcedir "$kdir"
	ko=$work/tree/pmdesc/$ver/$kver/x86_64/module/pmdesc.ko
	[ -f "$ko" ] || [ -f "$ko.xz" ] || [ -f "$ko.zst" ] ||
		{ echo "$0: dkms built no pmdesc.ko for $kver" >&2; exit 1; }
	echo "dkms built pmdesc $ver for $kver"
done
dkms status -m pmdesc
