# SPDX-License-Identifier: GPL-2.0
#
# Out-of-tree build of pmdesc.ko and the project's entry points. The kbuild
# rules themselves are in Kbuild, which also serves the in-tree (KUnit) build.
#
#   make [KDIR=<kernel build tree>] [W=1]   build pmdesc.ko
#   make kunit                             KUnit suites, ARCH=um
#   make kunit-x86                         KUnit suites, x86_64 debug kernel
#   make test                              everything CI runs

KDIR ?= /lib/modules/$(shell uname -r)/build
KREL := $(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null)
# Objects go to a directory per kernel, never next to the sources.
OBJDIR ?= $(CURDIR)/.cache/build/$(KREL)

.PHONY: all modules kunit kunit-x86 test clean

all: modules

modules:
	@test -n "$(KREL)" || { echo "no kernel build tree at KDIR=$(KDIR)" >&2; exit 1; }
	@scripts/link-sources.sh $(OBJDIR)
	$(MAKE) -C $(KDIR) M=$(OBJDIR) CONFIG_PMDESC=m modules
	@echo "built $(OBJDIR)/pmdesc.ko"

kunit:
	scripts/kunit.sh um

kunit-x86:
	scripts/kunit.sh x86_64

test:
	scripts/test.sh

clean:
	rm -rf $(CURDIR)/.cache/build
