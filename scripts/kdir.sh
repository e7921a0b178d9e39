#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Print the newest installed Debian kernel headers directory of a series.
set -eu
case "${1:-}" in
6.1|6.12) ;;
*) echo "usage: $0 6.1|6.12" >&2; exit 2 ;;
esac
# The generic flavour only: cloud-amd64 and rt-amd64 end in -amd64 too.
dir=$(ls -d /usr/src/linux-headers-"$1".*-amd64 2>/dev/null |
	grep -Ev -- '-(cloud|rt)-amd64$' | sort -V | tail -n 1)
[ -n "$dir" ] || { echo "$0: no linux-headers-$1 under /usr/src" >&2; exit 1; }
echo "$dir"
