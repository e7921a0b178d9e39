#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The dev VM: build pmdesc.ko and the userspace programs for one of Debian's
# kernels, boot that kernel in QEMU (TCG) on a busybox initramfs, insmod,
# run a command, rmmod, power off. Prints the serial console.
#
# usage: scripts/vm-run.sh [-k 6.1|6.12|debug] [-m MEM] [-s CPUS] [-n NODES]
#                          [-t SECONDS] [-i] [-f FILE]... COMMAND...
#
# -n NODES splits the memory (MEM in M or G) and the CPUs evenly into that
# many NUMA nodes, one CPU each at least, for NUMA balancing to scan.
# -k debug boots the debug kernel of scripts/debug-kernel.sh (KASAN,
# lockdep, DEBUG_VM, kmemleak, fault injection) with the pmdesc.ko built in
# its tree; kmemleak is scanned after the run and any leak fails it.
# -i (fault injection): the stack dumps that injected failures print are
# expected, so "Call Trace" alone does not fail the run.
#
# COMMAND runs in the VM's /bin/sh with the programs in /bin (those named
# in $PMD_PROGRAMS, default "pmd_test pmd_demo") and the -f files in /.
# With pmd_test, a 16 MiB ext4 image made here is loop-mounted at /mnt/ext4
# (loop and ext4 are modules in Debian's kernels, built in in the debug
# kernel). Exits non-zero when insmod fails, COMMAND
# fails, rmmod fails, the kernel logs a warning, BUG, Oops or sanitizer
# report, or the VM times out. A boot that never reached /init is retried
# once. Every run works in its own temporary directory, so runs can overlap.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
series=6.12
mem=1G
cpus=2
timeout=600
nodes=1
files=
traces='|Call Trace'
while getopts k:m:s:n:t:f:i opt; do
	case $opt in
	i) traces= ;;
	n) nodes=$OPTARG ;;
	k) series=$OPTARG ;;
	m) mem=$OPTARG ;;
	s) cpus=$OPTARG ;;
	t) timeout=$OPTARG ;;
	f) files="$files $(realpath "$OPTARG")" ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || { echo "usage: $0 [-k 6.1|6.12|debug] [-m MEM] [-s CPUS] [-n NODES] [-t SECONDS] [-f FILE]... COMMAND..." >&2; exit 2; }

# The QEMU options of -n: a RAM backend and a node per node.
numa=
smp=$cpus
if [ "$nodes" -gt 1 ]; then
	case $mem in
	*G) mib=$((${mem%G} * 1024)) ;;
	*M) mib=${mem%M} ;;
	*) echo "$0: -n needs -m in M or G" >&2; exit 2 ;;
	esac
	[ "$cpus" -ge "$nodes" ] || cpus=$nodes
	# A socket per node: CPUs of one cache on two nodes make the
	# scheduler warn at boot.
	smp="$cpus,sockets=$nodes,cores=$((cpus / nodes)),threads=1"
	i=0
	while [ $i -lt "$nodes" ]; do
		numa="$numa -object memory-backend-ram,id=m$i,size=$((mib / nodes))M"
		numa="$numa -numa node,memdev=m$i,cpus=$((i * cpus / nodes))-$(((i + 1) * cpus / nodes - 1))"
		i=$((i + 1))
	done
fi

cache=$top/.cache
if [ "$series" = debug ]; then
	debug=$("$top/scripts/debug-kernel.sh")
	release=$(cat "$debug/include/config/kernel.release")
	vmlinuz=$debug/arch/x86/boot/bzImage
	module=$debug/drivers/misc/pmdesc/pmdesc.ko
else
	kdir=$("$top/scripts/kdir.sh" "$series")
	release=$(sed -n 's/.*UTS_RELEASE "\(.*\)"/\1/p' "$kdir/include/generated/utsrelease.h")
	images=$cache/images
	vmlinuz=$images/$release/boot/vmlinuz-$release
	module=$cache/build/$release/pmdesc.ko
fi

# Debian's kernel image, unpacked from its package (no /boot, no initramfs).
[ "$series" = debug ] || mkdir -p "$images"
[ "$series" = debug ] || (
	flock 9
	if [ ! -f "$vmlinuz" ]; then
		dl=$(mktemp -d "$images/dl.XXXXXX")
		pkg=linux-image-$release-unsigned
		(cd "$dl" && { apt-get download -q "$pkg" ||
			{ apt-get update -qq && apt-get download -q "$pkg"; }; })
		dpkg -x "$dl"/*.deb "$images/$release"
		rm -rf "$dl"
	fi
) 9> "$images/lock"

# The module and the programs; one build at a time.
programs=${PMD_PROGRAMS:-pmd_test pmd_demo}
(
	flock 9
	[ "$series" = debug ] || make -s -C "$top" KDIR="$kdir" >&2
	case " $programs " in
	*" pmd_test "*) "$top/scripts/linux-tree.sh" > /dev/null ;;
	esac
	for p in $programs; do
		make -s -C "$top/userspace" "$cache/userspace/$p" >&2
	done
) 9> "$cache/vm-build.lock"

work=$(mktemp -d "${TMPDIR:-/tmp}/pmd-vm.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
cp "$module" "$root/"
for p in $programs; do
	cp "$cache/userspace/$p" "$root/bin/"
done
for f in $files; do
	cp "$f" "$root/"
done
# A real filesystem for pmd_test: an ext4 image and, from Debian's image,
# the modules it needs, in load order (busybox insmod takes no .ko.xz).
case " $programs " in
*" pmd_test "*)
	truncate -s 16M "$root/ext4.img"
	mkfs.ext4 -q -F "$root/ext4.img"
	mkdir "$root/modules"
	kmods=${images:-/nonexistent}/$release/lib/modules/$release/kernel
	for m in crc32c_generic crc16 mbcache jbd2 ext4 loop; do
		f=$(find "$kmods" -name "$m.ko*" 2>/dev/null | head -n 1)
		case $f in
		'') continue ;;
		*.xz) xz -dc "$f" > "$root/modules/$m.ko" ;;
		*) cp "$f" "$root/modules/$m.ko" ;;
		esac
		echo "$m" >> "$root/modules/order"
	done
	;;
esac
printf '%s\n' "$*" > "$root/command"
cat > "$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
echo "PMD-VM: init reached, kernel $(uname -r)"
if insmod /pmdesc.ko; then
	echo "PMD-VM: insmod ok"
	cd /
	if [ -f /ext4.img ]; then
		for m in $(cat /modules/order 2>/dev/null); do
			insmod /modules/$m.ko || echo "PMD-VM: insmod $m failed"
		done
		mkdir -p /mnt/ext4
		mount -t ext4 -o loop /ext4.img /mnt/ext4 &&
			echo "PMD-VM: ext4 mounted at /mnt/ext4"
	fi
	sh /command
	echo "PMD-VM: command exit $?"
	[ -f /ext4.img ] && umount /mnt/ext4
	rmmod pmdesc && echo "PMD-VM: rmmod ok"
	leaks=/sys/kernel/debug/kmemleak
	# A kmemleak that disabled itself refuses the scan.
	if [ -w $leaks ] && echo scan > $leaks && echo scan > $leaks; then
		cat $leaks
		echo "PMD-VM: kmemleak scanned"
	fi
fi
poweroff -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initrd.gz"

boot() {
	timeout "$timeout" qemu-system-x86_64 -accel tcg -cpu max -m "$mem" \
		-smp "$smp" $numa -kernel "$vmlinuz" -initrd "$work/initrd.gz" \
		-append "console=ttyS0 panic=-1 oops=panic" \
		-nographic -no-reboot < /dev/null > "$work/console.log" 2>&1
}

rc=0
boot || rc=$?
if ! grep -q '^PMD-VM: init reached' "$work/console.log"; then
	echo "PMD-VM: the VM never reached /init (rc $rc); booting once more" >&2
	rc=0
	boot || rc=$?
fi
log=$work/console.log

# The whole console when something failed; from /init on when all went well.
fail() {
	tr -d '\r' < "$log"
	echo "PMD-VM: FAILED: $*"
	exit 1
}
[ "$rc" -ne 124 ] || fail "timeout after $timeout s"
grep -q '^PMD-VM: init reached' "$log" || fail "the VM never reached /init"
grep -q '^PMD-VM: insmod ok' "$log" || fail "insmod pmdesc.ko"
grep -q '^PMD-VM: command exit 0' "$log" || fail "command: $*"
grep -q '^PMD-VM: rmmod ok' "$log" || fail "rmmod pmdesc"
[ "$series" != debug ] || grep -q '^PMD-VM: kmemleak scanned' "$log" ||
	fail "kmemleak did not scan"
if grep -E "WARNING:|BUG:|Oops|KASAN:|UBSAN:|unreferenced object$traces" "$log" >&2; then
	fail "the kernel reported a problem"
fi
tr -d '\r' < "$log" | sed -n '/^PMD-VM: init reached/,$p'
echo "PMD-VM: passed on $release"
