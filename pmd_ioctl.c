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
#include <linux/idr.h>
#include <linux/miscdevice.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include "pmd.h"
#include "pmd_compat.h"
#include "pmd_internal.h"

static unsigned int max_handles = 65536;
module_param(max_handles, uint, 0644);
MODULE_PARM_DESC(max_handles,
		 "Most handles one open /dev/pmd may hold (default 65536)");

/**
 * struct pmd_file - one open /dev/pmd
 * @mm: the opener's address space, the only one allowed to issue ioctls
 * @lock: serializes the handles' reference counts and their removal
 * @handles: handle -> struct pmd_handle; a new handle stays reserved (NULL)
 *           until nothing can make its creation fail
 * @status_pages: the status area, page index -> struct page; a page is
 *                allocated (charged to the opener) when the first word in it
 *                is handed out and lives until the file is closed
 * @status_ida: the words in use, at most %PMD_STATUS_WORDS
 * @nr_handles: handles in @handles, reserved ones included
 */
struct pmd_file {
	struct mm_struct *mm;
	struct mutex lock; /* handles' refs and removal */
	struct xarray handles;
	atomic_t nr_handles;
	struct xarray status_pages;
	struct ida status_ida;
};

#define PMD_WORDS_PER_PAGE (PAGE_SIZE / sizeof(__u64))

/**
 * struct pmd_handle - what a handle names
 * @desc: the descriptor
 * @refs: references on @desc that the handle holds, at least one
 * @status_index: the word of the status area that counts @desc's
 *                invalidations, or %PMD_STATUS_NONE
 */
struct pmd_handle {
	struct pmdesc *desc;
	unsigned int refs;
	u32 status_index;
};

union pmd_ioctl_arg {
	struct pmd_create create;
	struct pmd_copy copy;
	struct pmd_release release;
	struct pmd_info info;
	struct pmd_rw rw;
	struct pmd_pfns pfns;
};

static int pmd_respond(void __user *uarg, const void *karg, size_t size)
{
	return copy_to_user(uarg, karg, size) ? -EFAULT : 0;
}

/* Look up @handle and take a reference on its descriptor. */
static struct pmdesc *pmd_get_desc(struct pmd_file *pf, u32 handle)
{
	struct pmdesc *d = ERR_PTR(-ENOENT);
	struct pmd_handle *h;

	mutex_lock(&pf->lock);
	h = xa_load(&pf->handles, handle);
	if (h)
		d = pmdesc_get(h->desc);
	mutex_unlock(&pf->lock);
	return d;
}

/* The page of the status area that holds word @index, allocated if need be. */
static struct page *pmd_status_page(struct pmd_file *pf, u32 index)
{
	unsigned long pgoff = index / PMD_WORDS_PER_PAGE;
	struct page *page, *old;

	page = xa_load(&pf->status_pages, pgoff);
	if (page)
		return page;
	page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!page)
		return NULL;
	old = xa_cmpxchg(&pf->status_pages, pgoff, NULL, page,
			 GFP_KERNEL_ACCOUNT);
	if (!old)
		return page;
	__free_page(page);
	return xa_is_err(old) ? NULL : old;
}

static atomic64_t *pmd_status_word(struct pmd_file *pf, u32 index)
{
	struct page *page = xa_load(&pf->status_pages,
				    index / PMD_WORDS_PER_PAGE);

	return (atomic64_t *)page_address(page) + index % PMD_WORDS_PER_PAGE;
}

/*
 * Reserve a status word for a persistent descriptor, when one is left:
 * its index, or %PMD_STATUS_NONE; -ENOMEM when out of memory.
 */
static s64 pmd_status_reserve(struct pmd_file *pf, struct pmdesc *d)
{
	int index;

	if (!(pmdesc_flags(d) & PMD_F_PERSISTENT))
		return PMD_STATUS_NONE;
	index = ida_alloc_max(&pf->status_ida, PMD_STATUS_WORDS - 1,
			      GFP_KERNEL_ACCOUNT);
	if (index == -ENOSPC)
		return PMD_STATUS_NONE;
	if (index < 0)
		return index;
	if (!pmd_status_page(pf, index)) {
		ida_free(&pf->status_ida, index);
		return -ENOMEM;
	}
	return index;
}

static void pmd_status_unreserve(struct pmd_file *pf, u32 index)
{
	if (index != PMD_STATUS_NONE)
		ida_free(&pf->status_ida, index);
}

/*
 * Make the reserved word count @h's invalidations. The word moves first:
 * it may have been another handle's, and a sample taken of it then must not
 * match now.
 */
static void pmd_status_attach(struct pmd_file *pf, struct pmd_handle *h)
{
	atomic64_t *word;

	if (h->status_index == PMD_STATUS_NONE)
		return;
	word = pmd_status_word(pf, h->status_index);
	atomic64_inc(word);
	pmdesc_watch(h->desc, word);
}

static void pmd_status_detach(struct pmd_file *pf, struct pmd_handle *h)
{
	if (h->status_index == PMD_STATUS_NONE)
		return;
	pmdesc_watch(h->desc, NULL);
	ida_free(&pf->status_ida, h->status_index);
}

/* Count one more handle of @pf, unless it has max_handles already. */
static int pmd_count_handle(struct pmd_file *pf)
{
	if (atomic_inc_return(&pf->nr_handles) > READ_ONCE(max_handles)) {
		atomic_dec(&pf->nr_handles);
		return -EMFILE;
	}
	return 0;
}

/*
 * Give @d, and the reference the caller holds on it, a new handle: reserve
 * the handle, store it in *@handle (inside @karg), send @karg to userspace
 * and only then publish the handle. On error the caller keeps its reference.
 */
static int pmd_publish(struct pmd_file *pf, struct pmdesc *d, u32 *handle,
		       void __user *uarg, const void *karg, size_t size)
{
	struct pmd_handle *h;
	s64 index;
	int ret;

	ret = pmd_count_handle(pf);
	if (ret)
		return ret;
	h = kzalloc(sizeof(*h), GFP_KERNEL_ACCOUNT);
	if (!h) {
		ret = -ENOMEM;
		goto err_uncount;
	}
	ret = xa_alloc(&pf->handles, handle, NULL, xa_limit_32b,
		       GFP_KERNEL_ACCOUNT);
	if (ret)
		goto err_free;
	index = pmd_status_reserve(pf, d);
	if (index < 0) {
		ret = index;
		goto err_erase;
	}
	ret = pmd_respond(uarg, karg, size);
	if (ret)
		goto err_unreserve;
	h->desc = d;
	h->refs = 1;
	h->status_index = index;
	pmd_status_attach(pf, h);
	/* Replaces the reserved entry: allocates nothing, cannot fail. */
	xa_store(&pf->handles, *handle, h, GFP_KERNEL);
	return 0;

err_unreserve:
	pmd_status_unreserve(pf, index);
err_erase:
	xa_erase(&pf->handles, *handle);
err_free:
	kfree(h);
err_uncount:
	atomic_dec(&pf->nr_handles);
	return ret;
}

static int pmd_ioctl_create(struct pmd_file *pf, union pmd_ioctl_arg *arg,
			    void __user *uarg)
{
	struct pmd_create *cmd = &arg->create;
	struct pmd_range *ranges;
	struct pmdesc *d;
	int ret;

	if (!cmd->nr_ranges || cmd->nr_ranges > PMD_MAX_RANGES)
		return -EINVAL;
	ranges = memdup_user(u64_to_user_ptr(cmd->ranges),
			     cmd->nr_ranges * sizeof(*ranges));
	if (IS_ERR(ranges))
		return PTR_ERR(ranges);
	d = pmdesc_create_user(pf->mm, ranges, cmd->nr_ranges, cmd->flags);
	kfree(ranges);
	if (IS_ERR(d))
		return PTR_ERR(d);
	ret = pmd_publish(pf, d, &cmd->handle, uarg, cmd, sizeof(*cmd));
	if (ret)
		pmdesc_put(d);
	return ret;
}

/* The copy is the original: the handle takes the copy's reference. */
static int pmd_add_ref(struct pmd_file *pf, u32 handle, struct pmdesc *d)
{
	struct pmd_handle *h;
	int ret = -ENOENT;

	mutex_lock(&pf->lock);
	h = xa_load(&pf->handles, handle);
	if (h && h->desc == d) {
		ret = h->refs < PMD_MAX_HANDLE_REFS ? 0 : -EOVERFLOW;
		if (!ret)
			h->refs++;
	}
	mutex_unlock(&pf->lock);
	return ret;
}

static int pmd_ioctl_copy(struct pmd_file *pf, union pmd_ioctl_arg *arg,
			  void __user *uarg)
{
	struct pmd_copy *cmd = &arg->copy;
	struct pmdesc *orig, *copy;
	int ret;

	orig = pmd_get_desc(pf, cmd->handle);
	if (IS_ERR(orig))
		return PTR_ERR(orig);
	copy = pmdesc_copy_persistent(orig);
	if (IS_ERR(copy)) {
		ret = PTR_ERR(copy);
		goto out;
	}
	if (copy == orig) {
		cmd->new_handle = cmd->handle;
		cmd->result = PMD_COPY_ORIGINAL;
		ret = pmd_respond(uarg, cmd, sizeof(*cmd));
		if (!ret)
			ret = pmd_add_ref(pf, cmd->handle, copy);
	} else {
		cmd->result = PMD_COPY_FRESH;
		ret = pmd_publish(pf, copy, &cmd->new_handle, uarg, cmd,
				  sizeof(*cmd));
	}
	if (ret)
		pmdesc_put(copy);
out:
	pmdesc_put(orig);
	return ret;
}

static int pmd_ioctl_release(struct pmd_file *pf, union pmd_ioctl_arg *arg,
			     void __user *uarg)
{
	struct pmd_handle *h;
	struct pmdesc *d;

	mutex_lock(&pf->lock);
	h = xa_load(&pf->handles, arg->release.handle);
	if (!h) {
		mutex_unlock(&pf->lock);
		return -ENOENT;
	}
	d = h->desc;
	if (!--h->refs) {
		xa_erase(&pf->handles, arg->release.handle);
		atomic_dec(&pf->nr_handles);
		pmd_status_detach(pf, h);
		kfree(h);
	}
	mutex_unlock(&pf->lock);
	pmdesc_put(d);
	return 0;
}

static int pmd_ioctl_info(struct pmd_file *pf, union pmd_ioctl_arg *arg,
			  void __user *uarg)
{
	struct pmd_info *cmd = &arg->info;
	struct pmd_handle *h;
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
	return pmd_respond(uarg, cmd, sizeof(*cmd));
}

/* Copy between user memory and @d's pages through a page-sized buffer. */
static int pmd_rw_user(struct pmdesc *d, const struct pmd_rw *rw, bool write)
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
		if (write) {
			ret = copy_from_user(bounce, ubuf + done, n) ? -EFAULT :
			      pmdesc_write_bytes(d, rw->offset + done, bounce, n);
		} else {
			ret = pmdesc_read_bytes(d, rw->offset + done, bounce, n);
			if (!ret && copy_to_user(ubuf + done, bounce, n))
				ret = -EFAULT;
		}
		if (!ret && fatal_signal_pending(current))
			ret = -EINTR;
		cond_resched();
	}
	kfree(bounce);
	return ret;
}

static int pmd_ioctl_rw(struct pmd_file *pf, const struct pmd_rw *rw,
			bool write)
{
	struct pmdesc *d = pmd_get_desc(pf, rw->handle);
	int ret;

	if (IS_ERR(d))
		return PTR_ERR(d);
	ret = pmd_rw_user(d, rw, write);
	pmdesc_put(d);
	return ret;
}

static int pmd_ioctl_read(struct pmd_file *pf, union pmd_ioctl_arg *arg,
			  void __user *uarg)
{
	return pmd_ioctl_rw(pf, &arg->rw, false);
}

static int pmd_ioctl_write(struct pmd_file *pf, union pmd_ioctl_arg *arg,
			   void __user *uarg)
{
	return pmd_ioctl_rw(pf, &arg->rw, true);
}

static int pmd_ioctl_pfns(struct pmd_file *pf, union pmd_ioctl_arg *arg,
			  void __user *uarg)
{
	struct pmd_pfns *cmd = &arg->pfns;
	u64 __user *upfns = u64_to_user_ptr(cmd->pfns);
	unsigned long nr_pages;
	struct pmdesc *d;
	u64 i;
	int ret = 0;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	d = pmd_get_desc(pf, cmd->handle);
	if (IS_ERR(d))
		return PTR_ERR(d);
	nr_pages = pmdesc_nr_pages(d);
	if (cmd->first > nr_pages || cmd->nr > nr_pages - cmd->first)
		ret = -EINVAL;
	for (i = 0; i < cmd->nr && !ret; i++) {
		if (put_user(page_to_pfn(pmdesc_page(d, cmd->first + i)),
			     &upfns[i]))
			ret = -EFAULT;
		else if (fatal_signal_pending(current))
			ret = -EINTR;
		cond_resched();
	}
	pmdesc_put(d);
	return ret;
}

/* The first command number; the table below follows it. */
#define PMD_CMD_FIRST PMD_CMD_CREATE

struct pmd_ioctl_op {
	size_t size;
	int (*execute)(struct pmd_file *pf, union pmd_ioctl_arg *arg,
		       void __user *uarg);
};

#define PMD_OP(_cmd, _struct, _fn) \
	[PMD_CMD_##_cmd - PMD_CMD_FIRST] = { \
		.size = sizeof(struct _struct), .execute = _fn }

static const struct pmd_ioctl_op pmd_ops[] = {
	PMD_OP(CREATE, pmd_create, pmd_ioctl_create),
	PMD_OP(COPY, pmd_copy, pmd_ioctl_copy),
	PMD_OP(RELEASE, pmd_release, pmd_ioctl_release),
	PMD_OP(INFO, pmd_info, pmd_ioctl_info),
	PMD_OP(READ, pmd_rw, pmd_ioctl_read),
	PMD_OP(WRITE, pmd_rw, pmd_ioctl_write),
	PMD_OP(PFNS, pmd_pfns, pmd_ioctl_pfns),
};

static long pmd_fops_ioctl(struct file *filp, unsigned int cmd,
			   unsigned long arg)
{
	struct pmd_file *pf = filp->private_data;
	void __user *uarg = (void __user *)arg;
	unsigned int nr = _IOC_NR(cmd);
	const struct pmd_ioctl_op *op;
	union pmd_ioctl_arg karg;
	u32 usize;
	int ret;

	if (nr < PMD_CMD_FIRST || nr - PMD_CMD_FIRST >= ARRAY_SIZE(pmd_ops) ||
	    cmd != _IO(PMD_TYPE, nr))
		return -ENOTTY;
	if (current->mm != pf->mm)
		return -EPERM;
	op = &pmd_ops[nr - PMD_CMD_FIRST];
	if (get_user(usize, (u32 __user *)uarg))
		return -EFAULT;
	if (usize < op->size)
		return -EINVAL;
	if (usize > PAGE_SIZE)
		return -E2BIG;
	ret = copy_struct_from_user(&karg, op->size, uarg, usize);
	if (ret)
		return ret;
	return op->execute(pf, &karg, uarg);
}

/* A page of the status area: one that holds a word handed out, else none. */
static vm_fault_t pmd_status_fault(struct vm_fault *vmf)
{
	struct pmd_file *pf = vmf->vma->vm_file->private_data;
	struct page *page = xa_load(&pf->status_pages, vmf->pgoff);

	if (!page)
		return VM_FAULT_SIGBUS;
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct pmd_status_vm_ops = {
	.fault = pmd_status_fault,
};

/*
 * Map the status area, read-only, for the opener only. No mapping of it may
 * ever become writable or copied: a private copy of a word would never move
 * again. So the mapping may not become writable (no VM_MAYWRITE, which also
 * stops FOLL_FORCE writes through /proc/<pid>/mem or ptrace), is not
 * inherited by a child (VM_DONTCOPY; it belongs to the opener's mm) and
 * cannot grow.
 */
static int pmd_fops_mmap(struct file *filp, struct vm_area_struct *vma)
{
	struct pmd_file *pf = filp->private_data;

	if (current->mm != pf->mm)
		return -EPERM;
	if (vma->vm_flags & VM_WRITE)
		return -EPERM;
	if (vma->vm_pgoff || vma->vm_end - vma->vm_start > PMD_STATUS_SIZE)
		return -EINVAL;
	vm_flags_clear(vma, VM_MAYWRITE);
	vm_flags_set(vma, VM_DONTCOPY | VM_DONTDUMP | VM_DONTEXPAND);
	vma->vm_ops = &pmd_status_vm_ops;
	return 0;
}

static int pmd_fops_open(struct inode *inode, struct file *filp)
{
	struct pmd_file *pf;

	if (!current->mm)
		return -EPERM;
	pf = kzalloc(sizeof(*pf), GFP_KERNEL_ACCOUNT);
	if (!pf)
		return -ENOMEM;
	xa_init(&pf->status_pages);
	ida_init(&pf->status_ida);
	mmgrab(current->mm);
	pf->mm = current->mm;
	mutex_init(&pf->lock);
	xa_init_flags(&pf->handles, XA_FLAGS_ALLOC1);
	filp->private_data = pf;
	return 0;
}

static int pmd_fops_release(struct inode *inode, struct file *filp)
{
	struct pmd_file *pf = filp->private_data;
	struct pmd_handle *h;
	struct page *page;
	unsigned long index;

	xa_for_each(&pf->handles, index, h) {
		pmd_status_detach(pf, h);
		for (; h->refs; h->refs--)
			pmdesc_put(h->desc);
		kfree(h);
		cond_resched();
	}
	xa_destroy(&pf->handles);
	ida_destroy(&pf->status_ida);
	xa_for_each(&pf->status_pages, index, page)
		__free_page(page);
	xa_destroy(&pf->status_pages);
	mutex_destroy(&pf->lock);
	mmdrop(pf->mm);
	kfree(pf);
	return 0;
}

static const struct file_operations pmd_fops = {
	.owner = THIS_MODULE,
	.open = pmd_fops_open,
	.release = pmd_fops_release,
	.unlocked_ioctl = pmd_fops_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = pmd_fops_mmap,
	.llseek = noop_llseek,
};

static struct miscdevice pmd_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "pmd",
	.fops = &pmd_fops,
	.mode = 0666,
};

int pmd_dev_register(void)
{
	return misc_register(&pmd_misc);
}

void pmd_dev_unregister(void)
{
	misc_deregister(&pmd_misc);
}
