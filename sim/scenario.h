/* SPDX-License-Identifier: MIT */
/*
 * iopt-sim built-in workloads: deterministic generators of sim_event
 * streams, one stream per simulated CPU thread (docs/SIM.md "Scenarios").
 *
 *   nic     2 queues on 2 threads; rx rings refilled per packet, tx mapped
 *           per packet and unmapped at completion; 1.5K-9K buffers
 *   nvme    scatter lists of 4K-1M via map_sg, queue depth 64
 *   vm      VFIO-style static map_at of guest RAM with 1G and 2M pages, 32M
 *           and 64K runs, random device DMA, now and then a 2M, 32M or 64K
 *           chunk unmapped and remapped
 *   sva     device DMA with page requests on unmapped pages of a process
 *           address space, now and then a page unmapped again
 *   nested  a guest driver's map/DMA/unmap ring on a stage-1 table walked
 *           through stage 2 (sets sim_opts.nested)
 *
 * Streams depend only on (name, ops, seed): thread k's events are the same
 * whatever the interleaving with other threads. Buffer handles of thread k
 * are k * SIM_SCN_BUFS_PER_THREAD + i, so threads never share one; every
 * event's cpu is its thread. A stream ends with buffers still mapped:
 * sim_finish() unmaps them.
 *
 * Thread-safety: sim_scenario_next() concurrently for distinct threads;
 * everything else from one thread.
 */
#ifndef IOPT_SIM_SCENARIO_H
#define IOPT_SIM_SCENARIO_H

#include "sim.h"

#define SIM_SCN_BUFS_PER_THREAD 4096u

struct sim_scenario;

/* The scenario names, NULL-terminated, in tour order. */
extern const char *const sim_scenario_names[];

/*
 * sim_scenario_create - a generator of `ops` operations (packets, I/O
 * commands, device DMAs: the scenario's unit, split over its threads) of
 * scenario `name`, seeded with `seed`. ops 0 = the scenario's default.
 * Return: 0 and *out; -ENOENT (unknown name); -EINVAL (ops above 2^40);
 * -ENOMEM. Owned by the caller (sim_scenario_destroy).
 */
int sim_scenario_create(const char *name, uint64_t ops, uint64_t seed, struct sim_scenario **out);

void sim_scenario_destroy(struct sim_scenario *sc);

/*
 * sim_scenario_setup - set the sim options the workload needs: threads,
 * phys_mem, nested; when o->nested is set by the scenario and the caller
 * gave no stage 2, s2_format follows the stage-1 format's family. Other
 * fields are left as they are.
 */
void sim_scenario_setup(const struct sim_scenario *sc, struct sim_opts *o);

/* Threads the workload runs on (the cpu values are 0..threads-1). */
unsigned sim_scenario_threads(const struct sim_scenario *sc);

/* Operations the generator will produce in all (ops after the default). */
uint64_t sim_scenario_ops(const struct sim_scenario *sc);

/* Operations generated so far, all threads; any thread may read it. */
uint64_t sim_scenario_done(const struct sim_scenario *sc);

/*
 * sim_scenario_next - the next event of thread thr's stream.
 * Return: 1 and *ev (ev->sg, for map_sg, valid until the next call for
 * thr); 0 once the stream has ended; -EINVAL for thr >= threads.
 */
int sim_scenario_next(struct sim_scenario *sc, unsigned thr, struct sim_event *ev);

#endif /* IOPT_SIM_SCENARIO_H */
