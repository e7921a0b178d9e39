# SPDX-License-Identifier: GPL-2.0
#
# Out-of-tree build of pmdesc.ko and the project's entry points. The kbuild
# rules themselves are in Kbuild, which also serves the in-tree (KUnit) build.
#
#   make [KDIR=<kernel build tree>] [W=1]   build pmdesc.ko
#   make install [INSTALL_MOD_PATH=<root>]  kbuild's modules_install of it
#   make docs                              the API's kernel-doc, as reST
#   make kunit                             KUnit suites, ARCH=um
#   make kunit-llvm                        the same built with clang (LLVM=1)
#   make kunit-x86                         KUnit suites on the x86_64 debug kernel
#   make demo                              the demo in the dev VM (6.12)
#   make vm-test                           pmd_test in the dev VM, 6.1 and 6.12
#   make bench                             pmd_bench in the dev VM (6.12, two
#                                          NUMA nodes)
#   make vm-test-debug                     pmd_test on the debug kernel
#   make stress | fuzz | faultinject       the same on the debug kernel
#                                          (KASAN, lockdep, kmemleak, ...)
#   make test                              everything CI runs

KDIR ?= /lib/modules/$(shell uname -r)/build
KREL := $(shell sed -n 's/.*UTS_RELEASE "\(.*\)"/\1/p' $(KDIR)/include/generated/utsrelease.h 2>/dev/null)
# Objects go to a directory per kernel, never next to the sources.
OBJDIR ?= $(CURDIR)/.cache/build/$(KREL)

.PHONY: all modules install docs kunit kunit-llvm kunit-x86 vm-test demo bench vm-test-debug \
	stress fuzz faultinject test clean

# What the dev VM needs besides kernel headers.
VM_DEPS := make gcc libc6-dev busybox-static cpio gzip qemu-system-x86 e2fsprogs xz-utils

all: modules

modules:
	@test -n "$(KREL)" || { echo "no kernel build tree at KDIR=$(KDIR)" >&2; exit 1; }
	@scripts/link-sources.sh $(OBJDIR)
	$(MAKE) -C $(KDIR) M=$(OBJDIR) CONFIG_PMDESC=m modules
	@echo "built $(OBJDIR)/pmdesc.ko"

# To /lib/modules/<release>/updates (INSTALL_MOD_DIR, "extra" before 6.2),
# under INSTALL_MOD_PATH if given; depmod as kbuild runs it. Unsigned:
# distribution kernels ship no signing key; dkms signs with its MOK key.
install: modules
	$(MAKE) -C $(KDIR) M=$(OBJDIR) CONFIG_MODULE_SIG_ALL= modules_install

# The in-kernel API (its kernel-doc is at each export) and the uAPI.
docs:
	@mkdir -p .cache/docs
	perl $$(scripts/linux-tree.sh)/scripts/kernel-doc -rst -sphinx-version 3.0 -Wall \
		-export pmd.c pmd_copy.c pmd_dma.c > .cache/docs/pmdesc-api.rst
	perl $$(scripts/linux-tree.sh)/scripts/kernel-doc -rst -sphinx-version 3.0 -Wall \
		uapi/pmd.h > .cache/docs/pmd-uapi.rst
	@echo "API documentation in .cache/docs/"

kunit:
	scripts/kunit.sh um

# Debian's headers come from gcc-built kernels and carry gcc-only flags:
# clang builds the module only in a kernel it built, this one.
kunit-llvm:
	scripts/deps.sh clang lld llvm
	scripts/kunit.sh um-llvm

kunit-x86:
	scripts/deps.sh $(DEBUG_DEPS)
	scripts/kunit.sh x86_64

vm-test:
	scripts/deps.sh $(VM_DEPS) linux-headers-amd64 linux-headers-6.12-amd64 \
		linux-source-6.12
	scripts/vm-run.sh -k 6.1 -n 2 -m 1G pmd_test
	scripts/vm-run.sh -k 6.12 -n 2 -m 1G pmd_test

demo:
	scripts/deps.sh $(VM_DEPS) linux-headers-6.12-amd64
	PMD_PROGRAMS=pmd_demo scripts/vm-run.sh -k 6.12 pmd_demo

bench:
	scripts/deps.sh $(VM_DEPS) linux-headers-6.12-amd64
	PMD_PROGRAMS=pmd_bench scripts/vm-run.sh -k 6.12 -n 2 -m 3G -t 3000 pmd_bench

# The debug kernel is built from linux-source-6.12 (scripts/debug-kernel.sh).
DEBUG_DEPS := $(VM_DEPS) linux-source-6.12 bc flex bison libelf-dev libssl-dev
STRESS_SECONDS ?= 60
FUZZ_CALLS ?= 200000

vm-test-debug:
	scripts/deps.sh $(DEBUG_DEPS)
	PMD_PROGRAMS=pmd_test scripts/vm-run.sh -k debug -n 2 -m 2G pmd_test

stress:
	scripts/deps.sh $(DEBUG_DEPS)
	PMD_PROGRAMS=pmd_stress scripts/vm-run.sh -k debug -m 2G -s 4 \
		"echo 1 > /sys/kernel/tracing/events/pmdesc/enable && \
		 pmd_stress $(STRESS_SECONDS) && cat /sys/kernel/debug/pmdesc/stats"

fuzz:
	scripts/deps.sh $(DEBUG_DEPS)
	PMD_PROGRAMS=pmd_fuzz scripts/vm-run.sh -k debug -m 2G \
		pmd_fuzz $(FUZZ_CALLS)

faultinject:
	scripts/deps.sh $(DEBUG_DEPS)
	PMD_PROGRAMS=pmd_faultinject scripts/vm-run.sh -k debug -m 2G -i \
		pmd_faultinject

test:
	scripts/test.sh

clean:
	rm -rf $(CURDIR)/.cache/build
