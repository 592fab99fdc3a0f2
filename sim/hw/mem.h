/* SPDX-License-Identifier: MIT */
/*
 * iopt-sim simulated RAM for nested translation: a host arena that a guest
 * sees at a guest-physical base. Its table provider hands the stage-1 page
 * table pages whose "physical" addresses are guest-physical, so the walker
 * must translate every table address through stage 2 to read them.
 * Thread-safe (one mutex); pages are zeroed on allocation.
 */
#ifndef IOPT_SIM_MEM_H
#define IOPT_SIM_MEM_H

#include <pthread.h>
#include <stdint.h>

#include <iopt/pgtable.h>

struct sim_ram {
	uint8_t *host;          /* arena, aligned to 2 MiB */
	uint64_t gpa;           /* guest-physical address of host[0] */
	uint64_t size;
	uint64_t next;          /* bump offset */
	void *free_lists[32];   /* freed pages by log2 size, linked through their first word */
	pthread_mutex_t lock;
	struct iopt_pt_provider prov;
};

/* size: multiple of 2 MiB; gpa 2 MiB-aligned. 0, -EINVAL or -ENOMEM. */
int sim_ram_init(struct sim_ram *r, uint64_t gpa, uint64_t size);
void sim_ram_destroy(struct sim_ram *r);

/* Host memory as the default table provider sees it: physical == host virtual. */
uint64_t *sim_mem_identity(void *ctx, uint64_t pa);

#endif /* IOPT_SIM_MEM_H */
