#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Make DIR a kbuild directory of the project: symlinks to its sources, so
# that objects land in DIR (one per kernel) and never in the source tree.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1"
for f in Kbuild Kconfig uapi kunit "$top"/*.c "$top"/*.h; do
	ln -sfn "$top/$(basename "$f")" "$1/"
done
# Drop links to sources that no longer exist.
find "$1" -maxdepth 1 -xtype l -delete
