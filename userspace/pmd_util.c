// SPDX-License-Identifier: GPL-2.0
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmd_util.h"

long pins_held(void)
{
	long acquired = -1, released = -1, val;
	char name[64];
	FILE *f;
	int fd;

	fd = open("/proc/sys/vm/stat_refresh", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "1", 1) != 1)
			perror("stat_refresh");
		close(fd);
	}
	f = fopen("/proc/vmstat", "r");
	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", name, &val) == 2) {
		if (!strcmp(name, "nr_foll_pin_acquired"))
			acquired = val;
		else if (!strcmp(name, "nr_foll_pin_released"))
			released = val;
	}
	fclose(f);
	return acquired < 0 || released < 0 ? -1 : acquired - released;
}

long vm_pinned_kb(void)
{
	char line[128];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

int pmd_stats_read(struct pmd_stats *st)
{
	static const struct {
		const char *name;
		size_t offset;
	} fields[] = {
		{ "descriptors_live", offsetof(struct pmd_stats, live) },
		{ "pages_pinned", offsetof(struct pmd_stats, pinned) },
		{ "copies_original", offsetof(struct pmd_stats, original) },
		{ "copies_fresh", offsetof(struct pmd_stats, fresh) },
		{ "copies_error", offsetof(struct pmd_stats, error) },
		{ "copies_fast", offsetof(struct pmd_stats, fast) },
	};
	FILE *f = fopen(PMD_STATS_PATH, "r");
	unsigned int i, found = 0;
	char name[64];
	long val;

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", name, &val) == 2)
		for (i = 0; i < ARRAY_SIZE(fields); i++)
			if (!strcmp(name, fields[i].name)) {
				*(long *)((char *)st + fields[i].offset) = val;
				found++;
			}
	fclose(f);
	return found == ARRAY_SIZE(fields) ? 0 : -1;
}

int write_file(const char *path, const char *text, int flags)
{
	int fd = open(path, O_WRONLY | flags);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

int pmd_trace_set(int on)
{
	if (write_file(PMD_TRACING "/events/pmdesc/enable", on ? "1" : "0", 0))
		return -1;
	return write_file(PMD_TRACING "/trace", "", O_TRUNC);
}

char *pmd_trace_read(void)
{
	size_t len = 0, size = 1 << 16;
	char *text = malloc(size);
	int fd = open(PMD_TRACING "/trace", O_RDONLY);
	ssize_t n;

	if (!text || fd < 0)
		goto err;
	while ((n = read(fd, text + len, size - 1 - len)) > 0) {
		len += n;
		if (len == size - 1) {
			char *bigger = realloc(text, size *= 2);

			if (!bigger)
				goto err;
			text = bigger;
		}
	}
	if (n < 0)
		goto err;
	close(fd);
	text[len] = '\0';
	return text;
err:
	if (fd >= 0)
		close(fd);
	free(text);
	return NULL;
}
