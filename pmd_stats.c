// SPDX-License-Identifier: GPL-2.0
/*
 * pmdesc observability: per-CPU counters shown in debugfs (pmdesc/stats)
 * and the trace events of pmd_trace.h, for every create, copy and release.
 */
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/init.h>
#include <linux/minmax.h>
#include <linux/mmu_notifier.h>
#include <linux/percpu.h>
#include <linux/seq_file.h>
#include <linux/string.h>

#include "pmd_internal.h"

/* The events of &enum mmu_notifier_event as named in pmdesc/stats. */
static const char *const pmdesc_event_names[] = {
	[MMU_NOTIFY_UNMAP] = "unmap",
	[MMU_NOTIFY_CLEAR] = "clear",
	[MMU_NOTIFY_PROTECTION_VMA] = "protection_vma",
	[MMU_NOTIFY_PROTECTION_PAGE] = "protection_page",
	[MMU_NOTIFY_SOFT_DIRTY] = "soft_dirty",
	[MMU_NOTIFY_RELEASE] = "release",
	[MMU_NOTIFY_MIGRATE] = "migrate",
	[MMU_NOTIFY_EXCLUSIVE] = "exclusive",
	"other",
};

#define PMDESC_EVENTS ARRAY_SIZE(pmdesc_event_names)

#define CREATE_TRACE_POINTS
#include "pmd_trace.h"

/**
 * struct pmdesc_stats - counters shown in debugfs, pmdesc/stats
 * @live: descriptors created and not yet released
 * @pinned: pages pinned by live user descriptors
 * @copies: pmdesc_copy_persistent() calls by outcome
 * @fast: copies answered by the notifier sequence alone, without a walk
 * @invalidations: invalidations of persistent descriptors' ranges by
 *                 &enum mmu_notifier_event; the protection-only ones moved
 *                 no sequence
 * @settles: invalidations left to the return to userspace (pmd_settle.c),
 *           by what the walk found: [0] a page changed, [1] none did, [2]
 *           it failed (killed, out of memory, the mm gone, invalidations
 *           racing for a second); the watcher was told for [0] and [2]
 *
 * Per CPU, so that counting costs the copy fast path no shared cache line;
 * a CPU's share of @live or @pinned may be negative, the sum is not.
 */
struct pmdesc_stats {
	long live;
	long pinned;
	long copies[PMDESC_OUTCOME_NR];
	long fast;
	long invalidations[PMDESC_EVENTS];
	long settles[3];
};

static DEFINE_PER_CPU(struct pmdesc_stats, pmdesc_cpu_stats);
static struct dentry *pmdesc_debugfs;

/* Count and trace the outcome of a create, @d or an ERR_PTR(); return @d. */
struct pmdesc *pmdesc_observe_create(struct pmdesc *d, enum pmdesc_kind kind,
				     u32 flags)
{
	if (IS_ERR(d)) {
		trace_pmdesc_create(0, kind, flags, 0, PTR_ERR(d));
		return d;
	}
	this_cpu_inc(pmdesc_cpu_stats.live);
	if (kind == PMDESC_KIND_USER)
		this_cpu_add(pmdesc_cpu_stats.pinned, d->nr_pages);
	trace_pmdesc_create(d->id, kind, flags, d->nr_pages, 0);
	return d;
}

/* Count and trace the outcome of a copy of @orig (which may be NULL). */
void pmdesc_observe_copy(const struct pmdesc *orig, const struct pmdesc *copy,
			 bool fast)
{
	enum pmdesc_outcome outcome;

	if (IS_ERR(copy))
		outcome = PMDESC_OUTCOME_ERROR;
	else if (copy == orig)
		outcome = PMDESC_OUTCOME_ORIGINAL;
	else
		outcome = PMDESC_OUTCOME_FRESH;
	this_cpu_inc(pmdesc_cpu_stats.copies[outcome]);
	if (fast)
		this_cpu_inc(pmdesc_cpu_stats.fast);
	trace_pmdesc_copy(orig ? orig->id : 0, outcome, fast,
			  IS_ERR(copy) ? 0 : copy->id, PTR_ERR_OR_ZERO(copy));
}

/*
 * Count an invalidation of a persistent descriptor's ranges.
 * Context: an invalidation callback, any context.
 */
void pmdesc_observe_invalidation(enum mmu_notifier_event event)
{
	unsigned int i = min_t(unsigned int, event, PMDESC_EVENTS - 1);

	this_cpu_inc(pmdesc_cpu_stats.invalidations[i]);
}

/* Count a settle of pmd_settle.c by its walk's verdict: 1, 0 or -errno. */
void pmdesc_observe_settle(int same)
{
	this_cpu_inc(pmdesc_cpu_stats.settles[same < 0 ? 2 : same]);
}

/* Count and trace the last put of @d. */
void pmdesc_observe_release(const struct pmdesc *d)
{
	trace_pmdesc_release(d->id, d->nr_pages);
	this_cpu_dec(pmdesc_cpu_stats.live);
	if (pmdesc_is_user(d))
		this_cpu_sub(pmdesc_cpu_stats.pinned, d->nr_pages);
}

static void pmdesc_stats_sum(struct pmdesc_stats *sum)
{
	const struct pmdesc_stats *cpu_stats;
	int cpu, i;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		cpu_stats = per_cpu_ptr(&pmdesc_cpu_stats, cpu);
		sum->live += cpu_stats->live;
		sum->pinned += cpu_stats->pinned;
		for (i = 0; i < PMDESC_OUTCOME_NR; i++)
			sum->copies[i] += cpu_stats->copies[i];
		sum->fast += cpu_stats->fast;
		for (i = 0; i < PMDESC_EVENTS; i++)
			sum->invalidations[i] += cpu_stats->invalidations[i];
		for (i = 0; i < ARRAY_SIZE(sum->settles); i++)
			sum->settles[i] += cpu_stats->settles[i];
	}
}

static int pmdesc_stats_show(struct seq_file *m, void *unused)
{
	struct pmdesc_stats st;
	unsigned int i;

	pmdesc_stats_sum(&st);
	seq_printf(m, "descriptors_live %ld\n", st.live);
	seq_printf(m, "pages_pinned %ld\n", st.pinned);
	seq_printf(m, "copies_original %ld\n",
		   st.copies[PMDESC_OUTCOME_ORIGINAL]);
	seq_printf(m, "copies_fresh %ld\n", st.copies[PMDESC_OUTCOME_FRESH]);
	seq_printf(m, "copies_error %ld\n", st.copies[PMDESC_OUTCOME_ERROR]);
	seq_printf(m, "copies_fast %ld\n", st.fast);
	for (i = 0; i < PMDESC_EVENTS; i++)
		seq_printf(m, "invalidations_%s %ld\n", pmdesc_event_names[i],
			   st.invalidations[i]);
	seq_printf(m, "settles_changed %ld\n", st.settles[0]);
	seq_printf(m, "settles_unchanged %ld\n", st.settles[1]);
	seq_printf(m, "settles_failed %ld\n", st.settles[2]);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pmdesc_stats);

void __init pmdesc_stats_init(void)
{
	pmdesc_debugfs = debugfs_create_dir("pmdesc", NULL);
	debugfs_create_file("stats", 0444, pmdesc_debugfs, NULL,
			    &pmdesc_stats_fops);
}

void pmdesc_stats_exit(void)
{
	debugfs_remove_recursive(pmdesc_debugfs);
}
