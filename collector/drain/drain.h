/*
 * The drain thread's private state and loop (see drain.c for the design).
 */
#ifndef AGP_COLLECTOR_DRAIN_H
#define AGP_COLLECTOR_DRAIN_H

#include <stdint.h>

struct agp_collector;
struct agp_collector_drain;

int agp_drain_create(struct agp_collector *collector, struct agp_collector_drain **out);
void agp_drain_destroy(struct agp_collector_drain *drain);

/* One pass over every slot; returns the number of records taken out of rings. */
uint64_t agp_drain_pass(struct agp_collector *collector, struct agp_collector_drain *drain,
                        uint64_t now_ns);

/* Builds and publishes a snapshot of everything drained so far. */
int agp_drain_publish(struct agp_collector *collector, struct agp_collector_drain *drain,
                      uint64_t now_ns);

/* The thread function: passes, window rotation, publishing and idle back-off until stop. */
void *agp_drain_thread(void *collector);

#endif
