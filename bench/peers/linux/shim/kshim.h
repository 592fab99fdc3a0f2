/* SPDX-License-Identifier: MIT */
/*
 * kshim.h: the kernel environment that Linux 6.1's and 6.12's iova.c,
 * lib/rbtree.c, io-pgtable.c, io-pgtable-arm.c, amd/io_pgtable{,_v2}.c and
 * the part of dma-iommu.c we take expect, built from libc and pthreads so
 * those files compile unmodified in user space. LX_VERSION (601, 612) says
 * which kernel is being compiled, for the few places where they differ.
 * Every header under linux/ and asm/ here forwards to this one. Written for
 * iopt's bench; no kernel code is copied. What each stand-in changes against
 * the kernel is listed in docs/BENCH.md ("Shim semantics").
 */
#ifndef IOPT_KSHIM_H
#define IOPT_KSHIM_H

#ifndef LX_VERSION
#error "LX_VERSION (601, 612) must be defined"
#endif

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- configuration: what the extracted files compile in ---- */
#define CONFIG_IOMMU_IOVA 1
#define CONFIG_IOMMU_IO_PGTABLE_LPAE 1
#define CONFIG_AMD_IOMMU 1
#define CONFIG_64BIT 1
#define CONFIG_IOMMU_DMA 1
/* Per-CPU slots, one per live thread: --threads 64 plus the main thread. */
#define KSHIM_NR_CPUS 128

#define __kshim_placeholder_1 0,
#define __kshim_second(a, b, ...) b
#define __kshim_defined(x) ___kshim_defined(x)
#define ___kshim_defined(v) ____kshim_defined(__kshim_placeholder_##v)
#define ____kshim_defined(junk) __kshim_second(junk 1, 0)
#define IS_ENABLED(x) __kshim_defined(x)
#define IS_BUILTIN(x) __kshim_defined(x)
#define IS_REACHABLE(x) __kshim_defined(x)

/* ---- types ---- */
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;
typedef uint8_t __u8;
typedef uint16_t __u16;
typedef uint32_t __u32;
typedef uint64_t __u64;
typedef uint64_t phys_addr_t;
typedef uint64_t dma_addr_t;
typedef unsigned int gfp_t;
typedef struct { int counter; } atomic_t;
typedef struct { long counter; } atomic64_t;
typedef int irqreturn_t;
typedef unsigned __int128 u128;
typedef unsigned int ioasid_t;
#define atomic64_set(a, v) __atomic_store_n(&(a)->counter, (long)(v), __ATOMIC_RELAXED)
#define atomic64_read(a) __atomic_load_n(&(a)->counter, __ATOMIC_RELAXED)
#define atomic_set(a, v) __atomic_store_n(&(a)->counter, (v), __ATOMIC_RELAXED)
#define atomic_read(a) __atomic_load_n(&(a)->counter, __ATOMIC_RELAXED)
/* Full barriers, as x86's lock-prefixed instructions. */
#define atomic64_inc(a) ((void)__atomic_fetch_add(&(a)->counter, 1, __ATOMIC_SEQ_CST))
#define atomic_xchg(a, v) __atomic_exchange_n(&(a)->counter, (v), __ATOMIC_SEQ_CST)

/* ---- compiler ---- */
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#undef __always_inline
#define __always_inline inline __attribute__((always_inline))
#define noinline __attribute__((noinline))
#define __must_check
#define __percpu
#define __rcu
#define __init
#define __exit
#define __initdata
#define __iomem
#define __force
#define __user
#define __ro_after_init
#define __read_mostly
#define __maybe_unused __attribute__((unused))
#define __packed __attribute__((packed))
#define __aligned(x) __attribute__((aligned(x)))
#define __printf(a, b) __attribute__((format(printf, a, b)))
#define fallthrough __attribute__((fallthrough))
#define barrier() __asm__ volatile("" ::: "memory")
#define READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))
#define BUILD_BUG_ON(c) _Static_assert(!(c), #c)
#define static_assert(c, ...) _Static_assert(c, #c)
/* Static keys: a jump patched out until enabled; never enabled here. */
struct static_key_false {
	int enabled;
};
#define DEFINE_STATIC_KEY_FALSE(name) struct static_key_false name = { 0 }
#define static_branch_unlikely(k) ((void)(k), 0)

/* ---- kernel.h arithmetic ---- */
#define container_of(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define min(a, b) ((a) < (b) ? (a) : (b))
#define max(a, b) ((a) > (b) ? (a) : (b))
#define min_t(t, a, b) ((t)(a) < (t)(b) ? (t)(a) : (t)(b))
#define max_t(t, a, b) ((t)(a) > (t)(b) ? (t)(a) : (t)(b))
#define min_not_zero(a, b) ((a) == 0 ? (b) : (b) == 0 ? (a) : min(a, b))
#define struct_size(p, member, n) (sizeof(*(p)) + (size_t)(n) * sizeof(*(p)->member))
#define ALIGN(x, a) (((x) + ((__typeof__(x))(a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a) - 1)) == 0)
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
#define BIT(n) (1UL << (n))
#define BIT_ULL(n) (1ULL << (n))
#define GENMASK(h, l) ((~0UL << (l)) & (~0UL >> (63 - (h))))
#define GENMASK_ULL(h, l) ((~0ULL << (l)) & (~0ULL >> (63 - (h))))
#define ULL(x) (x##ULL)
#define UL(x) (x##UL)
#define U64_MAX UINT64_MAX
#define lower_32_bits(x) ((u32)(x))
#define upper_32_bits(x) ((u32)((u64)(x) >> 32))

static inline unsigned long __ffs(unsigned long x) { return (unsigned long)__builtin_ctzl(x); }
static inline unsigned long __fls(unsigned long x) { return 63ul - (unsigned long)__builtin_clzl(x); }
static inline int fls(unsigned int x) { return x ? 32 - __builtin_clz(x) : 0; }
static inline int fls64(u64 x) { return x ? 64 - __builtin_clzll(x) : 0; }
static inline int fls_long(unsigned long x) { return fls64(x); }
static inline bool is_power_of_2(unsigned long n) { return n && !(n & (n - 1)); }
static inline unsigned long roundup_pow_of_two(unsigned long n)
{
	return n <= 1 ? 1 : 1ul << fls_long(n - 1);
}
static inline unsigned long ffz(unsigned long x) { return __ffs(~x); }
#define order_base_2(n) ((n) > 1 ? fls_long((unsigned long)(n) - 1) : 0)
#define swap(a, b)                        \
	do {                              \
		__typeof__(a) __t = (a);  \
		(a) = (b);                \
		(b) = __t;                \
	} while (0)
#define ilog2(n) ((int)__fls((unsigned long)(n)))
#define bits_per(n) (ilog2(n) + 1)

/* Non-atomic bit ops on one word (the dirty-tracking paths, never benched). */
static inline int test_bit(long nr, const unsigned long *a)
{
	return (int)((a[nr / 64] >> (nr % 64)) & 1);
}
static inline void set_bit(long nr, unsigned long *a)
{
	__atomic_fetch_or(&a[nr / 64], 1ul << (nr % 64), __ATOMIC_SEQ_CST);
}
static inline int test_and_clear_bit(long nr, unsigned long *a)
{
	unsigned long m = 1ul << (nr % 64);

	return (__atomic_fetch_and(&a[nr / 64], ~m, __ATOMIC_SEQ_CST) & m) != 0;
}

#define SZ_4K 0x1000
#define SZ_16K 0x4000
#define SZ_64K 0x10000
#define SZ_2M 0x200000
#define SZ_32M 0x2000000
#define SZ_512M 0x20000000
#define SZ_1G 0x40000000
#define SZ_512G 0x8000000000ULL

#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define PAGE_MASK (~(PAGE_SIZE - 1))
static inline int get_order(unsigned long size)
{
	return size <= PAGE_SIZE ? 0 : fls_long((size - 1) >> PAGE_SHIFT);
}

/* ---- diagnostics: WARN reports and goes on, BUG stops, as in the kernel ---- */
#define pr_fmt(fmt) fmt
#define pr_err(...) fprintf(stderr, __VA_ARGS__)
#define pr_warn(...) fprintf(stderr, __VA_ARGS__)
#define pr_info(...) ((void)0)
#define pr_debug(...) ((void)0)
#define WARN_ON(c)                                                              \
	({                                                                      \
		int __w = !!(c);                                                \
		if (unlikely(__w))                                              \
			fprintf(stderr, "linux %d shim: WARN_ON at %s:%d\n",   \
				LX_VERSION, __FILE__, __LINE__);                \
		__w;                                                            \
	})
#define WARN_ON_ONCE(c) WARN_ON(c)
#define WARN(c, ...) WARN_ON(c)
#define WARN_ONCE(c, ...) WARN_ON(c)
#define BUG() abort()
#define BUG_ON(c)                       \
	do {                            \
		if (unlikely(c))        \
			abort();        \
	} while (0)
#define VM_BUG_ON(c) ((void)0)
#define kmemleak_transient_leak(p) ((void)(p))

/* ---- exports, modules ---- */
#define EXPORT_SYMBOL(s)
#define EXPORT_SYMBOL_GPL(s)
#define MODULE_AUTHOR(s)
#define MODULE_LICENSE(s)
#define MODULE_DESCRIPTION(s)

/* ---- barriers and atomics (x86-64 mapping, as the kernel's) ---- */
#define smp_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define wmb() barrier()
#define rmb() barrier()
#define dma_wmb() barrier()
#define smp_wmb() barrier()
#define smp_rmb() barrier()
/* The old value, as the kernel's cmpxchg; mo is the memory order of both outcomes. */
#define kshim_cmpxchg(p, o, n, mo)                                                   \
	({                                                                           \
		__typeof__(*(p)) __o = (o);                                          \
		__atomic_compare_exchange_n((p), &__o, (n), false, mo, mo);          \
		__o;                                                                 \
	})
#define cmpxchg64_relaxed(p, o, n) kshim_cmpxchg(p, o, n, __ATOMIC_RELAXED)
#define cmpxchg64(p, o, n) kshim_cmpxchg(p, o, n, __ATOMIC_SEQ_CST)
#define try_cmpxchg64(p, po, n) \
	__atomic_compare_exchange_n((p), (po), (n), false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)
#define cmpxchg(p, o, n) cmpxchg64(p, o, n)
#define xchg(p, v) __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)

/* ---- RCU pointer helpers (single address space: plain release/consume) ---- */
#define rcu_assign_pointer(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELEASE)
#define RCU_INIT_POINTER(p, v) WRITE_ONCE(p, v)
#define rcu_dereference(p) READ_ONCE(p)
#define rcu_dereference_raw(p) READ_ONCE(p)

/* ---- locks ---- */
/*
 * spinlock_t: test-and-test-and-set on one byte, the uncontended cost of the
 * kernel's qspinlock (one locked RMW to take, one store to release). The
 * irqsave variants only take the lock: user space has no interrupts.
 */
typedef struct {
	unsigned char v;
} spinlock_t;
typedef spinlock_t raw_spinlock_t;
#define __SPIN_LOCK_UNLOCKED(x) { 0 }
#define DEFINE_SPINLOCK(x) spinlock_t x = { 0 }
static inline void spin_lock_init(spinlock_t *l) { l->v = 0; }
static inline void spin_lock(spinlock_t *l)
{
	while (__atomic_exchange_n(&l->v, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&l->v, __ATOMIC_RELAXED))
			__builtin_ia32_pause();
}
static inline void spin_unlock(spinlock_t *l) { __atomic_store_n(&l->v, 0, __ATOMIC_RELEASE); }
#define spin_lock_irqsave(l, f) ((void)(f), spin_lock(l))
#define spin_unlock_irqrestore(l, f) ((void)(f), spin_unlock(l))
#define raw_spin_lock_irqsave spin_lock_irqsave
#define raw_spin_unlock_irqrestore spin_unlock_irqrestore
#define assert_spin_locked(l) ((void)(l))
#define lockdep_assert_held(l) ((void)(l))

#include <pthread.h>
struct mutex {
	pthread_mutex_t m;
};
#define DEFINE_MUTEX(x) struct mutex x = { PTHREAD_MUTEX_INITIALIZER }
#define mutex_lock(x) pthread_mutex_lock(&(x)->m)
#define mutex_unlock(x) pthread_mutex_unlock(&(x)->m)
#define mutex_init(x) pthread_mutex_init(&(x)->m, NULL)

/* seqcount_t (amd/io_pgtable.c 6.12): odd while a writer is inside. */
typedef struct {
	unsigned sequence;
} seqcount_t;
#define seqcount_init(s) ((s)->sequence = 0)
static inline unsigned read_seqcount_begin(const seqcount_t *s)
{
	unsigned v;

	while ((v = READ_ONCE(s->sequence)) & 1)
		__builtin_ia32_pause();
	smp_rmb();
	return v;
}
static inline int read_seqcount_retry(const seqcount_t *s, unsigned start)
{
	smp_rmb();
	return READ_ONCE(s->sequence) != start;
}
static inline void write_seqcount_begin(seqcount_t *s)
{
	WRITE_ONCE(s->sequence, s->sequence + 1);
	smp_wmb();
}
static inline void write_seqcount_end(seqcount_t *s)
{
	smp_wmb();
	WRITE_ONCE(s->sequence, s->sequence + 1);
}

/*
 * Time, timers and delayed work (dma-iommu.c's flush-queue timer, iova.c
 * 6.12's depot trimming). jiffies tick at Debian's HZ from CLOCK_MONOTONIC.
 * One thread of kshim.c plays both the timer softirq and the workqueue
 * worker: it runs each callback when its expiry has passed, holding no lock
 * of ours, so a callback may re-arm its own timer. As a kernel timer runs
 * on the CPU that armed it, the callback borrows the arming thread's
 * per-CPU slot (its frees go to that slot's caches); the kernel code locks
 * such data against softirqs, and those locks serialise the two here.
 */
#define HZ 250
unsigned long kshim_jiffies(void);
#define jiffies kshim_jiffies()
#define msecs_to_jiffies(ms) (((unsigned long)(ms) * HZ + 999) / 1000)
struct timer_list {
	void (*function)(struct timer_list *t);
	unsigned long expires;
	struct timer_list *kshim_next; /* on kshim.c's armed list */
	unsigned int kshim_cpu;        /* the slot of the thread that armed it */
	bool kshim_armed;
};
#define timer_setup(t, fn, flags) \
	((void)(flags), (t)->function = (fn), (t)->kshim_armed = false)
#define from_timer(var, t, field) container_of(t, __typeof__(*(var)), field)
/* 1 when t was armed already (its expiry moves), 0 otherwise. */
int mod_timer(struct timer_list *t, unsigned long expires);
/* Disarms t and waits for a running t->function; 1 when it was armed. */
int del_timer_sync(struct timer_list *t);

struct work_struct {
	void (*func)(struct work_struct *w);
};
struct delayed_work {
	struct work_struct work;
	struct timer_list timer;
	unsigned long pending; /* bit 0, as WORK_STRUCT_PENDING */
};
void kshim_delayed_work_init(struct delayed_work *dw, void (*fn)(struct work_struct *w));
bool kshim_queue_delayed_work(struct delayed_work *dw, unsigned long delay);
#define INIT_DELAYED_WORK(dw, fn) kshim_delayed_work_init(dw, fn)
/* Already pending costs one locked RMW, as the kernel's test_and_set_bit. */
static inline bool schedule_delayed_work(struct delayed_work *dw, unsigned long delay)
{
	if (__atomic_fetch_or(&dw->pending, 1ul, __ATOMIC_SEQ_CST) & 1)
		return false;
	return kshim_queue_delayed_work(dw, delay);
}
bool cancel_delayed_work_sync(struct delayed_work *dw);
/* Tests: while held, armed timers wait (kshim.c). */
void kshim_timers_hold(bool hold);

/* ---- lists (own implementation of the kernel's list API subset used) ---- */
struct list_head {
	struct list_head *next, *prev;
};
struct hlist_node {
	struct hlist_node *next, **pprev;
};
struct hlist_head {
	struct hlist_node *first;
};
struct llist_node {
	struct llist_node *next;
};
struct llist_head {
	struct llist_node *first;
};
#define LIST_HEAD_INIT(n) { &(n), &(n) }
#define LIST_HEAD(n) struct list_head n = LIST_HEAD_INIT(n)
static inline void INIT_LIST_HEAD(struct list_head *h) { h->next = h->prev = h; }
static inline bool list_empty(const struct list_head *h) { return h->next == h; }
static inline void list_add_tail(struct list_head *n, struct list_head *h)
{
	n->prev = h->prev;
	n->next = h;
	h->prev->next = n;
	h->prev = n;
}
static inline void list_del(struct list_head *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
}
/* Moves the entries of list to the front of head (list itself is left stale). */
static inline void list_splice(const struct list_head *list, struct list_head *head)
{
	if (list_empty(list))
		return;
	list->next->prev = head;
	list->prev->next = head->next;
	head->next->prev = list->prev;
	head->next = list->next;
}
#define list_entry(p, type, member) container_of(p, type, member)
#define list_for_each_entry(e, h, m)                                              \
	for ((e) = container_of((h)->next, __typeof__(*(e)), m); &(e)->m != (h);     \
	     (e) = container_of((e)->m.next, __typeof__(*(e)), m))
#define hlist_entry_safe(p, type, member) ((p) ? container_of(p, type, member) : NULL)

/* ---- per-CPU data: one slot per thread ---- */
/*
 * The kernel indexes per-CPU data by the CPU a task runs on (with preemption
 * off). Here each thread takes the next free slot the first time it asks.
 * As the kernel's per-CPU units, every allocation has its copies a fixed
 * KSHIM_PCPU_UNIT apart (so __alloc_percpu's size need not be the pointer
 * type's: 6.12's flush queue ends in a flexible array), and two threads
 * never share a cache line.
 */
unsigned int kshim_this_cpu(void);
#define KSHIM_PCPU_UNIT (16u << 10)
void *kshim_alloc_percpu(size_t size);
#define __alloc_percpu(size, align) kshim_alloc_percpu(size)
#define alloc_percpu(type) ((type *)kshim_alloc_percpu(sizeof(type)))
#define free_percpu(p) free(p)
#define per_cpu_ptr(p, cpu) ((__typeof__(p))((char *)(p) + (size_t)(cpu) * KSHIM_PCPU_UNIT))
#define raw_cpu_ptr(p) per_cpu_ptr(p, kshim_this_cpu())
#define this_cpu_ptr(p) raw_cpu_ptr(p)
#define for_each_possible_cpu(c) for ((c) = 0; (c) < KSHIM_NR_CPUS; (c)++)
#define for_each_online_cpu(c) for_each_possible_cpu(c)
#define smp_processor_id() kshim_this_cpu()
#define cache_line_size() 64
#define num_possible_cpus() KSHIM_NR_CPUS

/* The CPUs the machine has (iova.c 6.12 trims its depot to this many magazines). */
unsigned int kshim_online_cpus(void);
#define num_online_cpus() kshim_online_cpus()

/* CPU hotplug never happens: registration succeeds and nothing calls back. */
enum { CPUHP_IOMMU_IOVA_DEAD = 1 };
#define cpuhp_setup_state_multi(st, name, up, down) ((void)(down), 0)
#define cpuhp_remove_multi_state(st) ((void)0)
#define cpuhp_state_add_instance_nocalls(st, node) ((void)(node), 0)
#define cpuhp_state_remove_instance_nocalls(st, node) ((void)(node), 0)

/* ---- memory ---- */
#define GFP_KERNEL 0x1u
#define GFP_ATOMIC 0x2u
#define __GFP_ZERO 0x100u
#define __GFP_NOWARN 0x200u
#define __GFP_HIGHMEM 0x400u
#define __GFP_COMP 0x800u
#define NUMA_NO_NODE (-1)
#define SLAB_HWCACHE_ALIGN 0x1u

/* Slab caches and kmalloc: glibc malloc (its tcache is the per-CPU slab). */
struct kmem_cache {
	size_t size;
};
struct kmem_cache *kshim_kmem_cache_create(size_t size);
#define kmem_cache_create(name, size, align, flags, ctor) kshim_kmem_cache_create(size)
#define kmem_cache_destroy(c) free(c)
#define kmem_cache_alloc(c, gfp) malloc((c)->size)
#define kmem_cache_zalloc(c, gfp) calloc(1, (c)->size)
#define kmem_cache_free(c, p) free(p)
#define kmalloc(n, gfp) malloc(n)
#define kzalloc(n, gfp) calloc(1, n)
#define kcalloc(n, s, gfp) calloc(n, s)
#define kfree(p) free(p)

/*
 * Pages: 4 KiB pages from kshim.c's page pool, zeroed on request. A struct
 * page lives in the first bytes of the page it describes; the kernel code
 * only links a page into a free list once its contents are dead, so the
 * overlay is safe. Physical address == virtual address.
 */
struct page {
	struct list_head lru;
};
struct page *kshim_alloc_pages(gfp_t gfp, unsigned int order);
void kshim_free_pages(void *p, unsigned int order);
#define alloc_pages_node(nid, gfp, order) kshim_alloc_pages(gfp, order)
#define alloc_pages(gfp, order) kshim_alloc_pages(gfp, order)
#define page_address(p) ((void *)(p))
#define virt_to_page(a) ((struct page *)(a))
#define __free_pages(p, order) kshim_free_pages(p, order)
#define free_pages(a, order) kshim_free_pages((void *)(a), order)
#define free_page(a) kshim_free_pages((void *)(a), 0)
#define get_zeroed_page(gfp) ((unsigned long)kshim_alloc_pages((gfp) | __GFP_ZERO, 0))
void put_pages_list(struct list_head *pages);
/* The last reference to a page-table page: the pool takes it back. */
#define put_page(p) kshim_free_pages(p, 0)
#define vmalloc(n) malloc(n)
#define vfree(p) free(p)
/* Page statistics (iommu-pages.h, 6.12): not kept; the kernel adds to per-CPU counters. */
enum node_stat_item { NR_IOMMU_PAGES, NR_SECONDARY_PAGETABLE };
struct pglist_data;
#define page_pgdat(p) ((struct pglist_data *)NULL)
#define mod_node_page_state(pgdat, item, n) ((void)(pgdat), (void)(n))
#define mod_lruvec_page_state(page, item, n) ((void)(page), (void)(n))
#define virt_to_phys(a) ((phys_addr_t)(uintptr_t)(a))
#define phys_to_virt(a) ((void *)(uintptr_t)(a))
#define __pa(a) virt_to_phys(a)
#define __va(a) phys_to_virt(a)
#define __sme_set(x) (x)
#define __sme_clr(x) (x)

/* ---- DMA API: the tables are set up coherent, so none of it is reached ---- */
struct device;
enum dma_data_direction { DMA_TO_DEVICE = 1 };
#define dev_to_node(d) NUMA_NO_NODE
#define dma_map_single(d, p, s, dir) ((dma_addr_t)(uintptr_t)(p))
#define dma_mapping_error(d, a) 0
#define dma_unmap_single(d, a, s, dir) ((void)0)
#define dma_sync_single_for_device(d, a, s, dir) ((void)0)
#define dev_err(d, ...) fprintf(stderr, __VA_ARGS__)
#define dev_warn(d, ...) fprintf(stderr, __VA_ARGS__)
#define dev_dbg(d, ...) ((void)0)

/* ---- the iommu.h subset the page-table code and AMD types use ---- */
#define IOMMU_READ (1 << 0)
#define IOMMU_WRITE (1 << 1)
#define IOMMU_CACHE (1 << 2)
#define IOMMU_NOEXEC (1 << 3)
#define IOMMU_MMIO (1 << 4)
#define IOMMU_PRIV (1 << 5)

struct iommu_domain_geometry {
	dma_addr_t aperture_start, aperture_end;
	bool force_aperture;
};
struct iommu_domain;
struct iommu_iotlb_gather;
/* The driver ops dma-iommu.c and the inline iommu_iotlb_sync reach. */
struct iommu_domain_ops {
	void (*iotlb_sync)(struct iommu_domain *domain, struct iommu_iotlb_gather *gather);
	void (*flush_iotlb_all)(struct iommu_domain *domain);
};
struct iommu_domain {
	unsigned int type;
	const struct iommu_domain_ops *ops;
	unsigned long pgsize_bitmap;
	struct iommu_domain_geometry geometry;
	void *iova_cookie;
};
struct iommu_device {
	void *dev;
};
static inline struct iommu_device *dev_to_iommu_device(struct device *dev)
{
	(void)dev;
	return NULL;
}
/* The range an unmap leaves to flush; the glue's sync flushes it. */
struct iommu_iotlb_gather {
	unsigned long start, end;
	size_t pgsize;
	struct list_head freelist;
	bool queued;
};
static inline bool iommu_iotlb_gather_queued(struct iommu_iotlb_gather *g)
{
	return g && g->queued;
}
static inline void iommu_iotlb_gather_init(struct iommu_iotlb_gather *g)
{
	g->start = ULONG_MAX;
	g->end = 0;
	g->pgsize = 0;
	g->queued = false;
	INIT_LIST_HEAD(&g->freelist);
}
static inline void iommu_iotlb_sync(struct iommu_domain *domain, struct iommu_iotlb_gather *g)
{
	if (domain->ops->iotlb_sync)
		domain->ops->iotlb_sync(domain, g);
	iommu_iotlb_gather_init(g);
}
/* The iommu.c core, as the glue (glue_pgtable.c, glue_dma.c) provides it. */
#if LX_VERSION < 612
int iommu_map_atomic(struct iommu_domain *domain, unsigned long iova, phys_addr_t paddr,
		     size_t size, int prot);
#else
int iommu_map(struct iommu_domain *domain, unsigned long iova, phys_addr_t paddr, size_t size,
	      int prot, gfp_t gfp);
#endif
size_t iommu_unmap_fast(struct iommu_domain *domain, unsigned long iova, size_t size,
			struct iommu_iotlb_gather *gather);
struct iommu_domain *iommu_get_dma_domain(struct device *dev);
static inline int iommu_deferred_attach(struct device *dev, struct iommu_domain *domain)
{
	(void)dev, (void)domain;
	return 0;
}
/* Dirty tracking (6.12 formats): present, never called by the bench. */
struct iommu_dirty_bitmap;
#define IOMMU_DIRTY_NO_CLEAR (1 << 0)
static inline void iommu_dirty_bitmap_record(struct iommu_dirty_bitmap *d, unsigned long iova,
					     unsigned long length)
{
	(void)d, (void)iova, (void)length;
}

/* The device dma-iommu.c maps for: what its map path reads of it. */
struct dev_iommu {
	bool pci_32bit_workaround;
	bool shadow_on_flush;
};
struct device {
	u64 bus_dma_limit; /* 0: no bus limit */
	struct dev_iommu *iommu;
};
#define DMA_BIT_MASK(n) ((n) == 64 ? ~0ULL : (1ULL << (n)) - 1)
#define DMA_MAPPING_ERROR (~(dma_addr_t)0)
#define dev_is_pci(d) ((void)(d), 1)
#define dma_get_min_align_mask(d) ((void)(d), 0u)
#define dev_WARN_ONCE(d, c, ...) WARN_ON(c)
#define dev_notice(d, ...) fprintf(stderr, __VA_ARGS__)

/* ---- odds and ends named by amd_iommu_types.h ---- */
struct msi_msg {
	u32 address_lo, address_hi, data;
};
struct ratelimit_state {
	int interval, burst;
};
/* Only for inline helpers in amd_iommu.h that the page-table code never calls. */
struct pci_bus {
	int domain;
};
struct pci_dev {
	unsigned short vendor, device;
	struct pci_bus *bus;
	unsigned int devfn;
};
#define PCI_VENDOR_ID_ATI 0x1002
#define PCI_DEVICE_ID_RD890_IOMMU 0x5a23
#define pci_domain_nr(b) ((b)->domain)
#define pci_dev_id(p) ((u16)(p)->devfn)
struct irq_domain;
struct notifier_block;
/* Named by 6.12's amd_iommu{,_types}.h for the driver parts we do not build. */
struct xarray {
	void *head;
};
struct mmu_notifier {
	void *ops;
};
struct mm_struct;
struct iopf_fault;
struct iommu_page_response;
#define iommu_get_iommu_dev(dev, type, member) ((type *)NULL)

#endif /* IOPT_KSHIM_H */
