/* SPDX-License-Identifier: MIT */
/*
 * The rcache where membarrier() is missing (kernels before 4.14, sandboxes
 * that filter it): a seccomp filter makes it fail with ENOSYS before the
 * first domain exists, so the cache never turns its lock-free fast path on
 * and every cached-size call takes the locked slow path. The rules must
 * hold all the same: reuse, hits and misses, cached ranges as tree ranges,
 * double and bogus frees refused, a flush from another thread, thread exit.
 * Skipped where seccomp filters cannot be installed.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <iopt/iova.h>

#include "iova_test.h"

#define LIMIT32 0xFFFFFull

static int block_membarrier(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_membarrier, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		return -1;
	return syscall(__NR_membarrier, 0, 0, 0) == -1 && errno == ENOSYS ? 0 : -1;
}

static void *churn(void *arg)
{
	struct iopt_iova_domain *d = arg;
	uint64_t p[300];
	for (int i = 0; i < 300; i++)
		if (iopt_iova_alloc(d, 1 + i % 4, LIMIT32, 0, &p[i]))
			return (void *)1;
	for (int i = 0; i < 300; i++)
		if (iopt_iova_free(d, p[i], 1 + i % 4))
			return (void *)1;
	return NULL;
}

int main(void)
{
	if (block_membarrier()) {
		printf("1..0 # SKIP seccomp filters unavailable\n");
		return 0;
	}

	struct iopt_iova_domain *d = mk(1, 0, 0);
	uint64_t p[600], q, again;
	pthread_t th;
	void *ret;

	TEST("without membarrier: a freed range comes back from the cache, counted as a hit");
	CHECK_EQ(iopt_iova_alloc(d, 8, LIMIT32, 0, &q), 0);
	struct iopt_iova_stats s0 = stats(d);
	CHECK_EQ(s0.cache_misses, 1);
	CHECK_EQ(s0.tree_nodes, 1 + s0.cache_pfns);
	CHECK_EQ(iopt_iova_free(d, q, 8), 0);
	CHECK_EQ(stats(d).cache_pfns, s0.cache_pfns + 1);
	CHECK_EQ(iopt_iova_alloc(d, 8, LIMIT32, 0, &again), 0);
	CHECK_EQ(again, q);
	CHECK_EQ(stats(d).cache_hits, s0.cache_hits + 1);
	CHECK_EQ(iopt_iova_free(d, again, 8), 0);

	TEST("without membarrier: double, bogus and wrong-size frees are refused");
	CHECK_EQ(iopt_iova_free(d, again, 8), -ENOENT);
	CHECK_EQ(iopt_iova_alloc(d, 2, LIMIT32, 0, &q), 0);
	CHECK_EQ(iopt_iova_free(d, q, 1), -ENOENT);
	CHECK_EQ(iopt_iova_free(d, q + 1, 1), -ENOENT);
	CHECK_EQ(iopt_iova_free(d, q, 2), 0);

	TEST("without membarrier: 600 ranges through the magazines and the depot, then a flush from another thread");
	for (int i = 0; i < 600; i++)
		REQUIRE(iopt_iova_alloc(d, 1, LIMIT32, 0, &p[i]) == 0);
	for (int i = 0; i < 600; i++)
		CHECK_EQ(iopt_iova_free(d, p[i], 1), 0);
	struct iopt_iova_stats s1 = stats(d);
	CHECK(s1.depot_mags >= 1);
	CHECK_EQ(s1.tree_nodes, s1.cache_pfns);
	CHECK_EQ(iopt_iova_check(d), 0);
	flush_all_elsewhere(d);
	unsigned stale = 0;
	for (int i = 0; i < 600; i++) {
		REQUIRE(iopt_iova_alloc(d, 1, LIMIT32, 0, &p[i]) == 0);
		stale += iopt_iova_find(d, p[i], NULL, NULL, NULL) != 0;
	}
	CHECK_EQ(stale, 0);
	for (int i = 0; i < 600; i++)
		CHECK_EQ(iopt_iova_free(d, p[i], 1), 0);

	TEST("without membarrier: a thread's cache goes back to the domain when it exits");
	pthread_create(&th, NULL, churn, d);
	pthread_join(th, &ret);
	CHECK(ret == NULL);
	struct iopt_iova_stats s2 = stats(d);
	CHECK_EQ(s2.tree_nodes, s2.cache_pfns);
	CHECK_EQ(iopt_iova_check(d), 0);
	iopt_iova_cache_flush(d);
	CHECK_EQ(stats(d).tree_nodes, 0);
	iopt_iova_domain_destroy(d);
	return tap_done();
}
