// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/pmd: persistent memory descriptors for userspace.
 *
 * Each open file keeps its own table of handles, each naming a descriptor
 * and counting the references it holds on it. The file is bound to the
 * address space that opened it. It uses only the exported pmdesc API, as
 * any other driver would.
 */
#include <linux/capability.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/stddef.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include "pmd.h"
#include "pmd_dev.h"

static unsigned int max_handles = 65536;

/* Every persistent handle has a word: no more handles than words. */
static int pmdesc_set_max_handles(const char *val,
				  const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, PMD_STATUS_MAX_WORDS);
}

static const struct kernel_param_ops pmdesc_max_handles_ops = {
	.set = pmdesc_set_max_handles,
	.get = param_get_uint,
};

module_param_cb(max_handles, &pmdesc_max_handles_ops, &max_handles, 0644);
MODULE_PARM_DESC(max_handles,
		 "Most handles one open /dev/pmd may hold (default 65536, at most 1048576)");

union pmdesc_ioctl_arg {
	struct pmd_create create;
	struct pmd_copy copy;
	struct pmd_copy_batch batch;
	struct pmd_release release;
	struct pmd_info info;
	struct pmd_rw rw;
	struct pmd_pfns pfns;
};

/**
 * struct pmdesc_ucmd - one ioctl call
 * @pf: the file it was issued on
 * @ubuffer: the caller's struct
 * @user_size: its size, as the caller gave it
 * @cmd: the kernel's copy of it
 */
struct pmdesc_ucmd {
	struct pmdesc_file *pf;
	void __user *ubuffer;
	u32 user_size;
	union pmdesc_ioctl_arg *cmd;
};

/**
 * struct pmdesc_reply - the answer of a command that names a handle
 * @to: the caller's struct
 * @from: the kernel's struct, sent back whole once the answer is final
 * @size: bytes of @from to send
 * @handle: the field of @from that names the handle
 * @status_index: the field of @from that names its status word
 */
struct pmdesc_reply {
	void __user *to;
	const void *from;
	size_t size;
	u32 *handle;
	u32 *status_index;
};

/*
 * The reply of an ioctl: the kernel's @size bytes of its struct, or fewer
 * when the caller's struct is older (smaller).
 */
static struct pmdesc_reply pmdesc_ucmd_reply(struct pmdesc_ucmd *ucmd,
					     size_t size, u32 *handle,
					     u32 *status_index)
{
	return (struct pmdesc_reply) {
		.to = ucmd->ubuffer,
		.from = ucmd->cmd,
		.size = min_t(size_t, size, ucmd->user_size),
		.handle = handle,
		.status_index = status_index,
	};
}

static int pmdesc_reply_send(const struct pmdesc_reply *reply)
{
	return copy_to_user(reply->to, reply->from, reply->size) ? -EFAULT : 0;
}

/* Send the command's struct back (see pmdesc_ucmd_reply()). */
static int pmdesc_respond(struct pmdesc_ucmd *ucmd, size_t size)
{
	struct pmdesc_reply reply = pmdesc_ucmd_reply(ucmd, size, NULL, NULL);

	return pmdesc_reply_send(&reply);
}

/*
 * Look up @handle and take a reference on its descriptor; its cookie in
 * *@cookie unless NULL.
 */
static struct pmdesc *pmdesc_handle_get(struct pmdesc_file *pf, u32 handle,
					u64 *cookie)
{
	struct pmdesc *d = ERR_PTR(-ENOENT);
	struct pmdesc_handle *h;

	mutex_lock(&pf->lock);
	h = xa_load(&pf->handles, handle);
	if (h) {
		d = pmdesc_get(h->desc);
		if (cookie)
			*cookie = h->cookie;
	}
	mutex_unlock(&pf->lock);
	return d;
}

/* Count one more handle of @pf, unless it has max_handles already. */
static int pmdesc_count_handle(struct pmdesc_file *pf)
{
	if (atomic_inc_return(&pf->nr_handles) > READ_ONCE(max_handles)) {
		atomic_dec(&pf->nr_handles);
		return -EMFILE;
	}
	return 0;
}

/* A new handle entry of @pf for @d, with its status word reserved. */
static struct pmdesc_handle *pmdesc_handle_alloc(struct pmdesc_file *pf,
						 struct pmdesc *d, u64 cookie)
{
	struct pmdesc_handle *h;
	s64 index;

	h = kzalloc(sizeof(*h), GFP_KERNEL_ACCOUNT);
	if (!h)
		return ERR_PTR(-ENOMEM);
	index = pmdesc_status_reserve(pf, d);
	if (index < 0) {
		kfree(h);
		return ERR_PTR(index);
	}
	h->desc = d;
	h->refs = 1;
	h->cookie = cookie;
	h->status_index = index;
	h->pf = pf;
	INIT_LIST_HEAD(&h->event);
	return h;
}

static void pmdesc_handle_free(struct pmdesc_file *pf, struct pmdesc_handle *h)
{
	pmdesc_status_unreserve(pf, h->status_index);
	kfree(h);
}

/*
 * Give @d, and the reference the caller holds on it, a new handle of @pf
 * with @cookie: reserve the handle, put it and its word in the reply, send
 * the reply and only then publish the handle. On error the caller keeps
 * its reference.
 */
static int pmdesc_publish(struct pmdesc_file *pf, struct pmdesc *d,
			  u64 cookie, const struct pmdesc_reply *reply)
{
	struct pmdesc_handle *h;
	int ret;

	ret = pmdesc_count_handle(pf);
	if (ret)
		return ret;
	h = pmdesc_handle_alloc(pf, d, cookie);
	if (IS_ERR(h)) {
		ret = PTR_ERR(h);
		goto err_uncount;
	}
	ret = xa_alloc(&pf->handles, &h->handle, NULL, xa_limit_32b,
		       GFP_KERNEL_ACCOUNT);
	if (ret)
		goto err_free;
	*reply->handle = h->handle;
	*reply->status_index = h->status_index;
	ret = pmdesc_reply_send(reply);
	if (ret)
		goto err_erase;
	pmdesc_status_attach(pf, h);
	/* Replaces the reserved entry: allocates nothing, cannot fail. */
	xa_store(&pf->handles, h->handle, h, GFP_KERNEL);
	return 0;

err_erase:
	xa_erase(&pf->handles, h->handle);
err_free:
	pmdesc_handle_free(pf, h);
err_uncount:
	atomic_dec(&pf->nr_handles);
	return ret;
}

static int pmdesc_ioctl_create(struct pmdesc_ucmd *ucmd)
{
	struct pmd_create *cmd = &ucmd->cmd->create;
	struct pmdesc_reply reply = pmdesc_ucmd_reply(ucmd, sizeof(*cmd),
						      &cmd->handle,
						      &cmd->status_index);
	struct pmd_range *ranges;
	struct pmdesc *d;
	int ret;

	if (!cmd->nr_ranges || cmd->nr_ranges > PMD_MAX_RANGES ||
	    cmd->__reserved)
		return -EINVAL;
	ranges = memdup_user(u64_to_user_ptr(cmd->ranges),
			     cmd->nr_ranges * sizeof(*ranges));
	if (IS_ERR(ranges))
		return PTR_ERR(ranges);
	d = pmdesc_create_user(ucmd->pf->mm, ranges, cmd->nr_ranges,
			       cmd->flags);
	kfree(ranges);
	if (IS_ERR(d))
		return PTR_ERR(d);
	ret = pmdesc_publish(ucmd->pf, d, cmd->cookie, &reply);
	if (ret)
		pmdesc_put(d);
	return ret;
}

/*
 * The copy of @handle is its descriptor @d: reply, and the handle takes
 * the copy's reference, both under the lock, so that the reply never names
 * a reference that was not taken.
 */
static int pmdesc_copy_original(struct pmdesc_file *pf, u32 handle,
				struct pmdesc *d,
				const struct pmdesc_reply *reply)
{
	struct pmdesc_handle *h;
	int ret = -ENOENT;

	*reply->handle = handle;
	mutex_lock(&pf->lock);
	h = xa_load(&pf->handles, handle);
	if (h && h->desc == d)
		ret = h->refs < PMD_MAX_HANDLE_REFS ? 0 : -EOVERFLOW;
	if (!ret) {
		*reply->status_index = h->status_index;
		ret = pmdesc_reply_send(reply);
	}
	if (!ret)
		h->refs++;
	mutex_unlock(&pf->lock);
	return ret;
}

/**
 * struct pmdesc_copying - a COPY of a handle between its two steps
 * @handle: the handle copied
 * @cookie: its cookie, which a fresh copy inherits
 * @orig: its descriptor, with a reference
 * @copy: what pmdesc_copy_persistent() returned: @orig or a new descriptor,
 *        with a reference
 */
struct pmdesc_copying {
	u32 handle;
	u64 cookie;
	struct pmdesc *orig;
	struct pmdesc *copy;
};

/*
 * The first step of a COPY of handle @c->handle: the copy constructor.
 * Return: 0 with @c->orig and @c->copy set, or -errno with nothing held.
 */
static int pmdesc_copy_begin(struct pmdesc_file *pf, struct pmdesc_copying *c)
{
	c->orig = pmdesc_handle_get(pf, c->handle, &c->cookie);
	if (IS_ERR(c->orig))
		return PTR_ERR(c->orig);
	c->copy = pmdesc_copy_persistent(c->orig);
	if (!IS_ERR(c->copy))
		return 0;
	pmdesc_put(c->orig);
	return PTR_ERR(c->copy);
}

/* Did the first step give the original (else a fresh descriptor)? */
static bool pmdesc_copy_is_original(const struct pmdesc_copying *c)
{
	return c->copy == c->orig;
}

/* The &enum pmd_copy_result of the first step. */
static u32 pmdesc_copy_result(const struct pmdesc_copying *c)
{
	return pmdesc_copy_is_original(c) ? PMD_COPY_ORIGINAL : PMD_COPY_FRESH;
}

/*
 * The second step: hand the copy to userspace through @reply, whose result
 * the caller has set; drop what the first step held.
 */
static int pmdesc_copy_end(struct pmdesc_file *pf, struct pmdesc_copying *c,
			   const struct pmdesc_reply *reply)
{
	int ret;

	if (pmdesc_copy_is_original(c))
		ret = pmdesc_copy_original(pf, c->handle, c->copy, reply);
	else
		ret = pmdesc_publish(pf, c->copy, c->cookie, reply);
	if (ret)
		pmdesc_put(c->copy);
	pmdesc_put(c->orig);
	return ret;
}

static int pmdesc_ioctl_copy(struct pmdesc_ucmd *ucmd)
{
	struct pmd_copy *cmd = &ucmd->cmd->copy;
	struct pmdesc_reply reply = pmdesc_ucmd_reply(ucmd, sizeof(*cmd),
						      &cmd->new_handle,
						      &cmd->status_index);
	struct pmdesc_copying c = { .handle = cmd->handle };
	int ret;

	ret = pmdesc_copy_begin(ucmd->pf, &c);
	if (ret)
		return ret;
	cmd->result = pmdesc_copy_result(&c);
	return pmdesc_copy_end(ucmd->pf, &c, &reply);
}

/* Answer @e with the error @err. */
static void pmdesc_copy_entry_fail(struct pmd_copy_entry *e, int err)
{
	e->new_handle = 0;
	e->result = err;
	e->status_index = PMD_STATUS_NONE;
}

/*
 * One entry of a COPY_BATCH, read from and answered in @uentry: its error
 * goes in the entry. Return: 0, or -EFAULT when @uentry cannot be read or
 * written, leaving nothing behind.
 */
static int pmdesc_copy_entry(struct pmdesc_file *pf,
			     struct pmd_copy_entry __user *uentry)
{
	struct pmd_copy_entry e;
	struct pmdesc_reply reply = { .to = uentry, .from = &e,
				      .size = sizeof(e),
				      .handle = &e.new_handle,
				      .status_index = &e.status_index };
	struct pmdesc_copying c;
	int ret;

	if (copy_from_user(&e, uentry, sizeof(e)))
		return -EFAULT;
	c.handle = e.handle;
	ret = pmdesc_copy_begin(pf, &c);
	if (!ret) {
		e.result = pmdesc_copy_result(&c);
		ret = pmdesc_copy_end(pf, &c, &reply);
		if (ret == -EFAULT)
			return ret;
	}
	if (!ret)
		return 0;
	pmdesc_copy_entry_fail(&e, ret);
	return pmdesc_reply_send(&reply);
}

/* The entries a COPY_BATCH reads and answers at once on its fast path. */
#define PMDESC_BATCH_CHUNK 32

/*
 * xa_load() of handle @index under the caller's RCU read lock, which one
 * lookup after another share: xa_load() takes and drops it (two calls
 * with PREEMPT_RCU) per lookup, a tenth of a batch entry's cost.
 */
static struct pmdesc_handle *pmdesc_handle_lookup(struct xa_state *xas,
						  u32 index)
{
	void *entry;

	xas_set(xas, index);
	do {
		entry = xas_load(xas);
		if (xa_is_zero(entry))	/* reserved by pmdesc_publish() */
			entry = NULL;
	} while (xas_retry(xas, entry));
	return entry;
}

/*
 * Answer @e[0..@nr) as far as no walk is needed: a missing handle, a bad
 * original, or an unchanged handle's original, whose reference its handle
 * takes.
 * Context: under @pf->lock, which keeps the handles found; takes the RCU
 * read lock once, for all the lookups.
 * Return: how many, from the first, were answered.
 */
static u32 pmdesc_copy_answer_fast(struct pmdesc_file *pf,
				   struct pmd_copy_entry *e, u32 nr)
{
	XA_STATE(xas, &pf->handles, 0);
	struct pmdesc_handle *h;
	struct pmdesc *copy;
	u32 i;

	rcu_read_lock();
	for (i = 0; i < nr; i++, e++) {
		h = pmdesc_handle_lookup(&xas, e->handle);
		if (!h) {
			pmdesc_copy_entry_fail(e, -ENOENT);
			continue;
		}
		if (h->refs >= PMD_MAX_HANDLE_REFS)
			break;
		copy = pmdesc_try_copy_persistent(h->desc);
		if (PTR_ERR_OR_ZERO(copy) == -EAGAIN)
			break;
		if (IS_ERR(copy)) {
			pmdesc_copy_entry_fail(e, PTR_ERR(copy));
			continue;
		}
		h->refs++;
		e->result = PMD_COPY_ORIGINAL;
		e->new_handle = e->handle;
		e->status_index = h->status_index;
	}
	rcu_read_unlock();
	return i;
}

/*
 * Take back the references of the originals among @e[0..@nr), answered
 * by pmdesc_copy_answer_fast() under this same hold of @pf->lock.
 */
static void pmdesc_copy_unanswer_fast(struct pmdesc_file *pf,
				      const struct pmd_copy_entry *e, u32 nr)
{
	struct pmdesc_handle *h;
	u32 i;

	for (i = 0; i < nr; i++, e++) {
		if (e->result != PMD_COPY_ORIGINAL)
			continue;
		h = xa_load(&pf->handles, e->handle);
		h->refs--;
		pmdesc_put(h->desc);
	}
}

/*
 * Read the handles of @nr entries at @u into @e, the only field a COPY
 * reads: a word each, not a copy of whole entries.
 * Return: false when one cannot be read.
 */
static bool pmdesc_batch_read_handles(struct pmd_copy_entry *e,
				      const struct pmd_copy_entry __user *u,
				      u32 nr)
{
	u32 i;

	if (!user_read_access_begin(u, nr * sizeof(*u)))
		return false;
	for (i = 0; i < nr; i++)
		unsafe_get_user(e[i].handle, &u[i].handle, efault);
	user_read_access_end();
	return true;
efault:
	user_read_access_end();
	return false;
}

/*
 * Write the out fields of @nr entries @e to @u, in order.
 * Return: how many, from the first, were written whole.
 */
static u32 pmdesc_batch_write_results(struct pmd_copy_entry __user *u,
				      const struct pmd_copy_entry *e, u32 nr)
{
	u32 i = 0;

	if (!user_write_access_begin(u, nr * sizeof(*u)))
		return 0;
	for (; i < nr; i++) {
		unsafe_put_user(e[i].new_handle, &u[i].new_handle, out);
		unsafe_put_user(e[i].result, &u[i].result, out);
		unsafe_put_user(e[i].status_index, &u[i].status_index, out);
	}
out:
	user_write_access_end();
	return i;
}

/*
 * The fast path of a COPY_BATCH over the @nr entries @e read from
 * @uentries: answer and write back as many as need no walk, under one hold
 * of @pf->lock, so that no result names a reference not taken. The
 * entries that could not be written back are undone.
 * Return: how many, from the first, were done, or -EFAULT.
 */
static int pmdesc_copy_run_fast(struct pmdesc_file *pf,
				struct pmd_copy_entry __user *uentries,
				struct pmd_copy_entry *e, u32 nr)
{
	u32 done;

	mutex_lock(&pf->lock);
	nr = pmdesc_copy_answer_fast(pf, e, nr);
	done = pmdesc_batch_write_results(uentries, e, nr);
	pmdesc_copy_unanswer_fast(pf, e + done, nr - done);
	mutex_unlock(&pf->lock);
	return done < nr ? -EFAULT : done;
}

/*
 * The fast path over up to @nr entries of a COPY_BATCH at @uentries, at
 * most PMDESC_BATCH_CHUNK.
 * Return: how many entries, from the first, were done, or -EFAULT.
 */
static int pmdesc_copy_chunk(struct pmdesc_file *pf,
			     struct pmd_copy_entry __user *uentries, u32 nr)
{
	struct pmd_copy_entry e[PMDESC_BATCH_CHUNK];

	/* Unreadable somewhere: the entry at a time of the caller finds which. */
	if (!pmdesc_batch_read_handles(e, uentries, nr))
		return 0;
	return pmdesc_copy_run_fast(pf, uentries, e, nr);
}

/*
 * Each chunk of entries goes through the fast path as far as it can; the
 * entry it stopped at, if any, is a COPY of its own, off the chunk's stack.
 */
static int pmdesc_ioctl_copy_batch(struct pmdesc_ucmd *ucmd)
{
	struct pmd_copy_batch *cmd = &ucmd->cmd->batch;
	struct pmd_copy_entry __user *entries = u64_to_user_ptr(cmd->entries);
	u32 i, nr;
	int ret, err;

	if (cmd->nr > PMD_COPY_BATCH_MAX)
		return -EINVAL;
	for (i = 0; i < cmd->nr; i += ret) {
		if (fatal_signal_pending(current))
			return -EINTR;
		nr = min(cmd->nr - i, PMDESC_BATCH_CHUNK);
		ret = pmdesc_copy_chunk(ucmd->pf, &entries[i], nr);
		if (ret >= 0 && ret < (int)nr) {
			err = pmdesc_copy_entry(ucmd->pf, &entries[i + ret]);
			ret = err ? err : ret + 1;
		}
		if (ret < 0)
			return ret;
		cond_resched();
	}
	return 0;
}

static int pmdesc_ioctl_release(struct pmdesc_ucmd *ucmd)
{
	struct pmdesc_file *pf = ucmd->pf;
	u32 handle = ucmd->cmd->release.handle;
	struct pmdesc_handle *h;
	struct pmdesc *d;

	mutex_lock(&pf->lock);
	h = xa_load(&pf->handles, handle);
	if (!h) {
		mutex_unlock(&pf->lock);
		return -ENOENT;
	}
	d = h->desc;
	if (!--h->refs) {
		xa_erase(&pf->handles, handle);
		atomic_dec(&pf->nr_handles);
		pmdesc_status_detach(pf, h);
		kfree(h);
	}
	mutex_unlock(&pf->lock);
	pmdesc_put(d);
	return 0;
}

static int pmdesc_ioctl_info(struct pmdesc_ucmd *ucmd)
{
	struct pmd_info *cmd = &ucmd->cmd->info;
	struct pmdesc_file *pf = ucmd->pf;
	struct pmdesc_handle *h;
	struct pmdesc *d;

	mutex_lock(&pf->lock);
	h = xa_load(&pf->handles, cmd->handle);
	if (!h) {
		mutex_unlock(&pf->lock);
		return -ENOENT;
	}
	d = h->desc;
	cmd->flags = pmdesc_flags(d);
	cmd->nr_ranges = pmdesc_nr_ranges(d);
	cmd->length = pmdesc_length(d);
	cmd->nr_pages = pmdesc_nr_pages(d);
	cmd->id = pmdesc_id(d);
	cmd->refs = h->refs;
	cmd->status_index = h->status_index;
	mutex_unlock(&pf->lock);
	return pmdesc_respond(ucmd, sizeof(*cmd));
}

/* Move @n bytes at @offset between @ubuf and @d through @bounce. */
static int pmdesc_rw_chunk(struct pmdesc *d, size_t offset, char __user *ubuf,
			   size_t n, void *bounce, bool write)
{
	int ret;

	if (write) {
		if (copy_from_user(bounce, ubuf, n))
			return -EFAULT;
		return pmdesc_write_bytes(d, offset, bounce, n);
	}
	ret = pmdesc_read_bytes(d, offset, bounce, n);
	if (ret)
		return ret;
	return copy_to_user(ubuf, bounce, n) ? -EFAULT : 0;
}

/* Copy between user memory and @d's pages through a page-sized buffer. */
static int pmdesc_rw_user(struct pmdesc *d, const struct pmd_rw *rw,
			  bool write)
{
	char __user *ubuf = u64_to_user_ptr(rw->buf);
	size_t length = pmdesc_length(d);
	size_t done, n;
	void *bounce;
	int ret = 0;

	if (write && !(pmdesc_flags(d) & PMD_F_DEVICE_WRITES))
		return -EPERM;
	if (rw->offset > length || rw->len > length - rw->offset)
		return -EINVAL;
	bounce = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;
	for (done = 0; done < rw->len && !ret; done += n) {
		n = min_t(size_t, rw->len - done, PAGE_SIZE);
		ret = pmdesc_rw_chunk(d, rw->offset + done, ubuf + done, n,
				      bounce, write);
		if (!ret && fatal_signal_pending(current))
			ret = -EINTR;
		cond_resched();
	}
	kfree(bounce);
	return ret;
}

static int pmdesc_ioctl_rw(struct pmdesc_ucmd *ucmd, bool write)
{
	const struct pmd_rw *rw = &ucmd->cmd->rw;
	struct pmdesc *d = pmdesc_handle_get(ucmd->pf, rw->handle, NULL);
	int ret;

	if (IS_ERR(d))
		return PTR_ERR(d);
	ret = pmdesc_rw_user(d, rw, write);
	pmdesc_put(d);
	return ret;
}

static int pmdesc_ioctl_read(struct pmdesc_ucmd *ucmd)
{
	return pmdesc_ioctl_rw(ucmd, false);
}

static int pmdesc_ioctl_write(struct pmdesc_ucmd *ucmd)
{
	return pmdesc_ioctl_rw(ucmd, true);
}

/* Send @nr recorded PFNs of @d from @first on to @upfns. */
static int pmdesc_put_pfns(struct pmdesc *d, u64 first, u64 nr,
			   u64 __user *upfns)
{
	u64 i;

	for (i = 0; i < nr; i++) {
		if (put_user(page_to_pfn(pmdesc_page(d, first + i)), &upfns[i]))
			return -EFAULT;
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return 0;
}

static int pmdesc_ioctl_pfns(struct pmdesc_ucmd *ucmd)
{
	struct pmd_pfns *cmd = &ucmd->cmd->pfns;
	unsigned long nr_pages;
	struct pmdesc *d;
	int ret = -EINVAL;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	d = pmdesc_handle_get(ucmd->pf, cmd->handle, NULL);
	if (IS_ERR(d))
		return PTR_ERR(d);
	nr_pages = pmdesc_nr_pages(d);
	if (cmd->first <= nr_pages && cmd->nr <= nr_pages - cmd->first)
		ret = pmdesc_put_pfns(d, cmd->first, cmd->nr,
				      u64_to_user_ptr(cmd->pfns));
	pmdesc_put(d);
	return ret;
}

/**
 * struct pmdesc_ioctl_op - how an ioctl command is read and run
 * @size: the kernel's struct
 * @min_size: the struct of ABI v1, up to the end of its last field
 * @execute: runs the command
 */
struct pmdesc_ioctl_op {
	size_t size;
	size_t min_size;
	int (*execute)(struct pmdesc_ucmd *ucmd);
};

#define PMDESC_OP(_cmd, _type, _last, _fn)				\
	[PMD_CMD_##_cmd - PMD_CMD_CREATE] = {				\
		.size = sizeof(_type),					\
		.min_size = offsetofend(_type, _last),			\
		.execute = _fn,						\
	}

static const struct pmdesc_ioctl_op pmdesc_ops[] = {
	PMDESC_OP(CREATE, struct pmd_create, handle, pmdesc_ioctl_create),
	PMDESC_OP(COPY, struct pmd_copy, result, pmdesc_ioctl_copy),
	PMDESC_OP(RELEASE, struct pmd_release, handle, pmdesc_ioctl_release),
	PMDESC_OP(INFO, struct pmd_info, status_index, pmdesc_ioctl_info),
	PMDESC_OP(READ, struct pmd_rw, len, pmdesc_ioctl_read),
	PMDESC_OP(WRITE, struct pmd_rw, len, pmdesc_ioctl_write),
	PMDESC_OP(PFNS, struct pmd_pfns, pfns, pmdesc_ioctl_pfns),
	PMDESC_OP(COPY_BATCH, struct pmd_copy_batch, entries,
		  pmdesc_ioctl_copy_batch),
};

/* The operation of ioctl number @cmd, or NULL. */
static const struct pmdesc_ioctl_op *pmdesc_ioctl_op(unsigned int cmd)
{
	unsigned int nr = _IOC_NR(cmd);

	if (cmd != _IO(PMD_TYPE, nr) || nr < PMD_CMD_CREATE ||
	    nr - PMD_CMD_CREATE >= ARRAY_SIZE(pmdesc_ops) ||
	    !pmdesc_ops[nr - PMD_CMD_CREATE].execute)
		return NULL;
	return &pmdesc_ops[nr - PMD_CMD_CREATE];
}

static long pmdesc_fops_ioctl(struct file *filp, unsigned int cmd,
			      unsigned long arg)
{
	struct pmdesc_ucmd ucmd = { .pf = filp->private_data,
				    .ubuffer = (void __user *)arg };
	const struct pmdesc_ioctl_op *op = pmdesc_ioctl_op(cmd);
	union pmdesc_ioctl_arg karg;
	int ret;

	if (!op)
		return -ENOTTY;
	if (current->mm != ucmd.pf->mm)
		return -EPERM;
	if (get_user(ucmd.user_size, (u32 __user *)ucmd.ubuffer))
		return -EFAULT;
	if (ucmd.user_size < op->min_size)
		return -EINVAL;
	if (ucmd.user_size > PAGE_SIZE)
		return -E2BIG;
	ret = copy_struct_from_user(&karg, op->size, ucmd.ubuffer,
				    ucmd.user_size);
	if (ret)
		return ret;
	ucmd.cmd = &karg;
	return op->execute(&ucmd);
}

static int pmdesc_fops_open(struct inode *inode, struct file *filp)
{
	struct pmdesc_file *pf;

	if (!current->mm)
		return -EPERM;
	pf = kzalloc(sizeof(*pf), GFP_KERNEL_ACCOUNT);
	if (!pf)
		return -ENOMEM;
	pmdesc_status_init(pf);
	pmdesc_events_init(pf);
	mmgrab(current->mm);
	pf->mm = current->mm;
	mutex_init(&pf->lock);
	xa_init_flags(&pf->handles, XA_FLAGS_ALLOC1);
	filp->private_data = pf;
	return 0;
}

static int pmdesc_fops_release(struct inode *inode, struct file *filp)
{
	struct pmdesc_file *pf = filp->private_data;
	struct pmdesc_handle *h;
	unsigned long index;

	xa_for_each(&pf->handles, index, h) {
		pmdesc_status_detach(pf, h);
		for (; h->refs; h->refs--)
			pmdesc_put(h->desc);
		kfree(h);
		cond_resched();
	}
	xa_destroy(&pf->handles);
	pmdesc_status_destroy(pf);
	mutex_destroy(&pf->lock);
	mmdrop(pf->mm);
	kfree(pf);
	return 0;
}

static const struct file_operations pmdesc_fops = {
	.owner = THIS_MODULE,
	.open = pmdesc_fops_open,
	.release = pmdesc_fops_release,
	.read = pmdesc_events_read,
	.poll = pmdesc_events_poll,
	.unlocked_ioctl = pmdesc_fops_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = pmdesc_status_mmap,
	.llseek = noop_llseek,
};

static struct miscdevice pmdesc_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "pmd",
	.fops = &pmdesc_fops,
	.mode = 0666,
};

int pmdesc_dev_register(void)
{
	return misc_register(&pmdesc_misc);
}

void pmdesc_dev_unregister(void)
{
	misc_deregister(&pmdesc_misc);
}
