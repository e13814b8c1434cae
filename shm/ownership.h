/*
 * Ownership the kernel witnesses: one-byte OFD write locks (fcntl
 * F_OFD_SETLK) on the segment's own file, taken through the descriptor a
 * process keeps in its struct agp_segment. slot.c explains why this
 * mechanism and what it means across fork, exec and close.
 *
 * Which byte stands for whom is part of the ABI (every process of a
 * deployment must agree), and each is the first byte of the thing owned:
 *
 *   the collector serving the segment   offsetof(header, collector_pid)
 *   the registrar writing metric id     registry_offset + id * registry_entry_size
 *   the agent owning slot index         slots_offset + index * slot_stride
 *
 * A lock is held by an open file description, not by a process or a
 * thread: two handles of one process (two shm_open calls) conflict with
 * each other like two processes; one handle never conflicts with itself.
 */
#ifndef AGP_SHM_OWNERSHIP_H
#define AGP_SHM_OWNERSHIP_H

#include <stdbool.h>
#include <stdint.h>

struct agp_segment;

uint64_t agp_ownership_collector_byte(void);
uint64_t agp_ownership_slot_byte(const struct agp_segment *segment, uint32_t index);
uint64_t agp_ownership_metric_byte(const struct agp_segment *segment, uint32_t id);

/*
 * Takes the write lock on byte without waiting: 0; -EAGAIN when another
 * open file description holds it (its owner lives); another negative
 * errno, with a message, when the kernel refuses.
 */
int agp_ownership_take(const struct agp_segment *segment, uint64_t byte);

/* Drops our lock on byte (nothing happens when we hold none). */
void agp_ownership_drop(const struct agp_segment *segment, uint64_t byte);

/*
 * 1 when another open file description holds byte, 0 when none does;
 * a negative errno, with a message, when the kernel cannot tell.
 */
int agp_ownership_held(const struct agp_segment *segment, uint64_t byte);

/*
 * The collector's presence. Take: -EBUSY, naming the deployment and the
 * pid the segment records, while another collector holds it. Present:
 * whether any other handle holds it (an agent asks before reclaiming).
 */
int agp_collector_presence_take(struct agp_segment *segment);
void agp_collector_presence_drop(struct agp_segment *segment);
bool agp_collector_present(const struct agp_segment *segment);

#endif
