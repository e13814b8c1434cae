/*
 * Appending to the files the daemon keeps open (alerts.jsonl, the interval
 * log): every write lands whole or not at all, so that a reader never meets
 * a partial line, whatever the disk refused.
 */
#ifndef AGP_COMMON_APPEND_H
#define AGP_COMMON_APPEND_H

#include <stddef.h>
#include <sys/types.h>

/* write(2) until all of data is written (EINTR retried); 0 or -errno. */
int agp_write_all(int fd, const void *data, size_t length);

/*
 * Appends data to fd whole: what the disk took of a failed write is cut back
 * off now, or, when even that fails, before the next append (*repair_to
 * holds the size to cut back to, -1 for none; the caller keeps it with fd,
 * starting at -1). 0 with *size_after (when not NULL) the file's new size,
 * or -errno.
 */
int agp_append_whole(int fd, off_t *repair_to, const void *data, size_t length, off_t *size_after);

#endif
