#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Hook the project into the extracted linux-source-6.12 as drivers/misc/pmdesc
# (a directory of symlinks, one source line in Kconfig, one obj-y line in the
# Makefile), idempotently, and print the tree's path.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
tree=$("$top/scripts/linux-tree.sh")
"$top/scripts/link-sources.sh" "$tree/drivers/misc/pmdesc"
grep -q '^source "drivers/misc/pmdesc/Kconfig"' "$tree/drivers/misc/Kconfig" ||
	sed -i 's|^endmenu$|source "drivers/misc/pmdesc/Kconfig"\nendmenu|' \
		"$tree/drivers/misc/Kconfig"
grep -qx 'obj-y += pmdesc/' "$tree/drivers/misc/Makefile" ||
	echo 'obj-y += pmdesc/' >> "$tree/drivers/misc/Makefile"
echo "$tree"
