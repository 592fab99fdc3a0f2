/* SPDX-License-Identifier: MIT */
/*
 * Concurrency stress: 4 mapper threads map/unmap disjoint ranges that share
 * upper tables (table installs race through CAS; whole leaf tables are
 * freed through the gather -> flush -> RCU grace period), while 2 reader
 * threads run iova_to_phys under the urcu-memb read lock on every range.
 * Translations are phys = iova + 2^40, so any successful lookup must agree
 * whatever the timing; a reader walking a freed table would read zeroed or
 * reused memory and fail the check (or crash). AMD v1 starts at 1 level so
 * the mappers also race to grow the top.
 */
#include <pthread.h>
#include <urcu/urcu-memb.h>

#include "pt_test.h"

#define NMAP 4
#define NREAD 2
#define REGION (256ull << 20)
#define OFF (1ull << 40)

static struct iopt_pt *pt;
static atomic_bool stop;
static _Atomic unsigned long errors, lookups, hits, maps;

static void *mapper(void *arg)
{
	uint64_t id = (uintptr_t)arg, seed = 0x9e3779b97f4a7c15ull * (id + 1);
	uint64_t base = id * REGION;
	struct iopt_gather g;

	iopt_gather_init(&g, false, NULL, NULL);
	while (!atomic_load(&stop)) {
		uint64_t chunk = base + (test_xrand(&seed) % (REGION >> 21)) * (2ull << 20);
		uint64_t got, pa;
		int r;

		if (test_xrand(&seed) & 1) {
			uint64_t n = 1 + test_xrand(&seed) % 512;

			r = iopt_pt_map_pages(pt, chunk, chunk + OFF, 4096, n,
					      IOPT_PROT_READ | IOPT_PROT_WRITE, &got);
		} else {
			r = iopt_pt_map_pages(pt, chunk, chunk + OFF, 2ull << 20, 1, IOPT_PROT_READ, &got);
		}
		if (r == 0) {
			atomic_fetch_add(&maps, 1);
			if (iopt_pt_iova_to_phys(pt, chunk + 0x123, &pa) || pa != chunk + 0x123 + OFF)
				atomic_fetch_add(&errors, 1);
		} else if (r != -EBUSY) {
			atomic_fetch_add(&errors, 1);
		}
		/* Unmap the whole 2M chunk: frees its leaf table via the gather. */
		r = iopt_pt_unmap_pages(pt, chunk, 4096, 512, &g, &got);
		if (r)
			atomic_fetch_add(&errors, 1);
		if (test_xrand(&seed) % 8 == 0)
			iopt_gather_sync(&g);
	}
	iopt_gather_sync(&g);
	return NULL;
}

static void *reader(void *arg)
{
	uint64_t seed = 0x1234567ull + (uintptr_t)arg, pa;
	unsigned long n = 0, h = 0;

	urcu_memb_register_thread();
	while (!atomic_load(&stop)) {
		uint64_t va = test_xrand(&seed) % (NMAP * REGION);

		urcu_memb_read_lock();
		int r = iopt_pt_iova_to_phys(pt, va, &pa);

		urcu_memb_read_unlock();
		if (r == 0) {
			h++;
			if (pa != va + OFF)
				atomic_fetch_add(&errors, 1);
		} else if (r != -ENOENT) {
			atomic_fetch_add(&errors, 1);
		}
		n++;
	}
	urcu_memb_unregister_thread();
	atomic_fetch_add(&lookups, n);
	atomic_fetch_add(&hits, h);
	return NULL;
}

static void run(const char *name, struct iopt_pt_cfg cfg)
{
	pthread_t th[NMAP + NREAD];
	struct test_prov tp;

	TEST(name);
	test_prov_init(&tp);
	cfg.provider = &tp.p;
	REQUIRE(iopt_pt_create(&cfg, &pt) == 0);
	atomic_store(&stop, false);
	atomic_store(&errors, 0);
	atomic_store(&lookups, 0);
	atomic_store(&hits, 0);
	atomic_store(&maps, 0);
	for (uintptr_t i = 0; i < NMAP; i++)
		REQUIRE(pthread_create(&th[i], NULL, mapper, (void *)i) == 0);
	for (uintptr_t i = 0; i < NREAD; i++)
		REQUIRE(pthread_create(&th[NMAP + i], NULL, reader, (void *)i) == 0);
	struct timespec ts = { .tv_sec = 1, .tv_nsec = 500000000 };

	nanosleep(&ts, NULL);
	atomic_store(&stop, true);
	for (int i = 0; i < NMAP + NREAD; i++)
		pthread_join(th[i], NULL);
	printf("# %s: %lu maps, %lu lookups (%lu hits), %lu errors\n", name, atomic_load(&maps),
	       atomic_load(&lookups), atomic_load(&hits), atomic_load(&errors));
	CHECK_EQ(atomic_load(&errors), 0);
	CHECK(atomic_load(&maps) > 100);
	CHECK(atomic_load(&lookups) > 1000);
	/* Everything was unmapped: only the root path of upper tables remains. */
	iopt_pt_free(pt);
	CHECK_EQ(atomic_load(&tp.live), 0);
}

int main(void)
{
	run("x86_64", (struct iopt_pt_cfg){ .format = IOPT_PT_X86_64, .ias = 48 });
	run("vtd_ss", (struct iopt_pt_cfg){ .format = IOPT_PT_VTD_SS, .ias = 39 });
	run("amd_v1 (growing)", (struct iopt_pt_cfg){ .format = IOPT_PT_AMD_V1, .ias = 48, .start_levels = 1 });
	run("lpae_s1", (struct iopt_pt_cfg){ .format = IOPT_PT_LPAE_S1, .ias = 48, .granule_lg2 = 12 });
	run("lpae_s2", (struct iopt_pt_cfg){ .format = IOPT_PT_LPAE_S2, .ias = 40, .granule_lg2 = 12 });
	return tap_done();
}
