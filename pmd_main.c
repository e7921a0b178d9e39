// SPDX-License-Identifier: GPL-2.0
/*
 * pmdesc.ko: the core (pmd*.c) and its userspace face, /dev/pmd
 * (pmd_ioctl.c, pmd_status.c), which uses only the exported API.
 */
#include <linux/init.h>
#include <linux/module.h>

#include "pmd_dev.h"
#include "pmd_internal.h"

static int __init pmdesc_init(void)
{
	int ret;

	pmdesc_stats_init();
	ret = pmdesc_dev_register();
	if (ret)
		pmdesc_stats_exit();
	return ret;
}
module_init(pmdesc_init);

static void __exit pmdesc_exit(void)
{
	pmdesc_dev_unregister();
	pmdesc_stats_exit();
}
module_exit(pmdesc_exit);

MODULE_DESCRIPTION("Persistent memory descriptors: pinned user memory, kernel and physical memory");
MODULE_LICENSE("GPL");
