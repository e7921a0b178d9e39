#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Extract Debian's linux-source-6.12 into .cache/ once (again when the
# package changes) and print the tree's path. Serialized with flock, so
# concurrent callers never see a half-extracted tree.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cache=$top/.cache
tarball=/usr/src/linux-source-6.12.tar.xz
tree=$cache/linux-source-6.12
stamp=$tree/.pmdesc-extracted

[ -f "$tarball" ] || { echo "$0: $tarball missing (apt-get install linux-source-6.12)" >&2; exit 1; }
mkdir -p "$cache"
exec 9> "$cache/linux-tree.lock"
flock 9
if [ "$(cat "$stamp" 2>/dev/null)" != "$(stat -c %Y "$tarball")" ]; then
	echo "extracting $tarball into $cache" >&2
	rm -rf "$tree"
	tar -xJf "$tarball" -C "$cache"
	stat -c %Y "$tarball" > "$stamp"
fi
echo "$tree"
