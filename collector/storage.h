/*
 * Files the collector writes: folders made on demand, and whole files
 * replaced atomically (temporary file in the same folder, fsync, rename,
 * fsync of the folder), so a reader sees the old file or the new one.
 */
#ifndef AGP_COLLECTOR_STORAGE_H
#define AGP_COLLECTOR_STORAGE_H

#include <stddef.h>

/* Creates path and its missing parents (mode 0700). 0 or a negative errno. */
int agp_storage_make_dir(const char *path);

/* Replaces path with length bytes of data atomically. 0 or a negative errno. */
int agp_storage_write_atomic(const char *path, const void *data, size_t length);

#endif
