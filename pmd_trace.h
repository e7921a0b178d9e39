/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pmdesc tracepoints: the life of a descriptor and every copy's outcome.
 * Enable them with /sys/kernel/tracing/events/pmdesc/enable.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM pmdesc

#if !defined(_PMDESC_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _PMDESC_TRACE_H

#include <linux/tracepoint.h>

#include "pmd_internal.h"

TRACE_DEFINE_ENUM(PMDESC_KIND_USER);
TRACE_DEFINE_ENUM(PMDESC_KIND_KERNEL);
TRACE_DEFINE_ENUM(PMDESC_KIND_PHYS);
TRACE_DEFINE_ENUM(PMDESC_OUTCOME_ORIGINAL);
TRACE_DEFINE_ENUM(PMDESC_OUTCOME_FRESH);
TRACE_DEFINE_ENUM(PMDESC_OUTCOME_ERROR);

#define pmdesc_show_kind(kind)					\
	__print_symbolic(kind,					\
			 { PMDESC_KIND_USER, "user" },		\
			 { PMDESC_KIND_KERNEL, "kernel" },	\
			 { PMDESC_KIND_PHYS, "phys" })

#define pmdesc_show_outcome(outcome)				\
	__print_symbolic(outcome,				\
			 { PMDESC_OUTCOME_ORIGINAL, "original" },	\
			 { PMDESC_OUTCOME_FRESH, "fresh" },	\
			 { PMDESC_OUTCOME_ERROR, "error" })

TRACE_EVENT(pmdesc_create,
	    TP_PROTO(u64 id, enum pmdesc_kind kind, u32 flags,
		     unsigned long nr_pages, int err),
	    TP_ARGS(id, kind, flags, nr_pages, err),
	    TP_STRUCT__entry(__field(u64, id)
			     __field(unsigned long, nr_pages)
			     __field(u32, flags)
			     __field(int, kind)
			     __field(int, err)),
	    TP_fast_assign(__entry->id = id;
			   __entry->nr_pages = nr_pages;
			   __entry->flags = flags;
			   __entry->kind = kind;
			   __entry->err = err;),
	    TP_printk("id=%llu kind=%s flags=%#x nr_pages=%lu err=%d",
		      __entry->id, pmdesc_show_kind(__entry->kind),
		      __entry->flags, __entry->nr_pages, __entry->err)
);

TRACE_EVENT(pmdesc_copy,
	    TP_PROTO(u64 orig_id, enum pmdesc_outcome outcome, bool fast,
		     u64 copy_id, int err),
	    TP_ARGS(orig_id, outcome, fast, copy_id, err),
	    TP_STRUCT__entry(__field(u64, orig_id)
			     __field(u64, copy_id)
			     __field(int, outcome)
			     __field(int, err)
			     __field(bool, fast)),
	    TP_fast_assign(__entry->orig_id = orig_id;
			   __entry->copy_id = copy_id;
			   __entry->outcome = outcome;
			   __entry->err = err;
			   __entry->fast = fast;),
	    TP_printk("orig=%llu outcome=%s fast=%d copy=%llu err=%d",
		      __entry->orig_id, pmdesc_show_outcome(__entry->outcome),
		      __entry->fast, __entry->copy_id, __entry->err)
);

TRACE_EVENT(pmdesc_release,
	    TP_PROTO(u64 id, unsigned long nr_pages),
	    TP_ARGS(id, nr_pages),
	    TP_STRUCT__entry(__field(u64, id)
			     __field(unsigned long, nr_pages)),
	    TP_fast_assign(__entry->id = id;
			   __entry->nr_pages = nr_pages;),
	    TP_printk("id=%llu nr_pages=%lu", __entry->id, __entry->nr_pages)
);

#endif /* _PMDESC_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE pmd_trace
#include <trace/define_trace.h>
