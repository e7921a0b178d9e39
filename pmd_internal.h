/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside pmdesc.ko, not an API: what the core (pmd.c), its trace events and
 * /dev/pmd (pmd_ioctl.c) share.
 */
#ifndef _PMD_INTERNAL_H
#define _PMD_INTERNAL_H

/* What a descriptor describes. */
enum pmdesc_kind {
	PMDESC_KIND_USER,
	PMDESC_KIND_KERNEL,
	PMDESC_KIND_PHYS,
};

/* What pmdesc_copy_persistent() returned. */
enum pmdesc_copy_outcome {
	PMDESC_COPY_ORIGINAL,
	PMDESC_COPY_FRESH,
	PMDESC_COPY_ERROR,
	PMDESC_COPY_NR,
};

/* The module's init registers /dev/pmd once the core is ready. */
int pmd_dev_register(void);
void pmd_dev_unregister(void);

#endif /* _PMD_INTERNAL_H */
