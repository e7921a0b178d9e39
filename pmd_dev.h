/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside pmdesc.ko: the module's init registers /dev/pmd (pmd_ioctl.c)
 * once the core is ready.
 */
#ifndef _PMD_DEV_H
#define _PMD_DEV_H

int pmd_dev_register(void);
void pmd_dev_unregister(void);

#endif /* _PMD_DEV_H */
