/*
 * The metric registry in the segment: ids 0..6 are the seed's metric types,
 * written by the segment's creator; custom metrics are registered by name
 * from any process at any time.
 *
 * Registration is an open-addressing hash table over ids 7..capacity-1: a
 * name always probes the same sequence of entries, so two processes that
 * register the same name at once meet at the same free entry; the one that
 * takes the entry's ownership lock (ownership.h) and wins its
 * compare-and-swap writes it, the other waits until it is READY, sees its
 * own name and returns the same id. A registrar that dies before READY
 * leaves its lock behind with it: the next registrar to meet the entry
 * takes it over at once. Nothing on the record path; bounded probing.
 */
#ifndef AGP_SHM_REGISTRY_H
#define AGP_SHM_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include <agentperf/metrics.h>

struct agp_segment;

/* A validated private copy of one registry entry. */
struct agp_metric_info {
	uint16_t id;
	enum agp_unit unit;
	uint64_t expected_interval_ns;
	char name[AGP_METRIC_NAME_MAX + 1];
};

/* Writes the built-in entries; only the segment's creator calls it, before publishing. */
void agp_registry_init(struct agp_segment *segment);

int agp_registry_register(struct agp_segment *segment, const char *name, enum agp_unit unit,
                          uint64_t expected_interval_ns, uint16_t *id_out);

/*
 * Reads entry id into info when it is READY and well-formed (NUL-terminated
 * name, known unit). The collector uses this on agent-writable memory.
 */
bool agp_registry_lookup(const struct agp_segment *segment, uint32_t id,
                         struct agp_metric_info *info);

/* Finds a READY metric by name; -ENOENT when there is none. */
int agp_registry_find(const struct agp_segment *segment, const char *name, uint16_t *id_out);

#endif
