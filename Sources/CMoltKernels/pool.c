#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include "internal.h"

/* Workers spin on the run counter for a while before sleeping on a condition variable: a
 * decode step issues its ~30 matvecs microseconds apart, and waking a sleeping thread costs
 * tens of microseconds, as much as a whole small matvec. */
#define SPIN_NANOSECONDS 200000

typedef struct {
    void *memory;
    size_t size;
} scratch_slot;

/* A run is published as one atomic word: its generation, its task count and the next task
 * to claim. Threads claim tasks by compare-and-swap on the word, so a thread that wakes up
 * late can never claim a task of another run, and the caller waits only for tasks that were
 * actually claimed, never for a worker that is slow to wake or was preempted while idle. */
#define TASK_BITS 20
#define TASK_LIMIT ((1 << TASK_BITS) - 1)
#define MASK ((uint64_t)TASK_LIMIT)

struct molt_pool {
    int threads;
    pthread_t *handles;
    pthread_mutex_t run_lock; /* one run at a time */
    pthread_mutex_t sleep_lock;
    pthread_cond_t wake;
    _Atomic uint64_t work; /* generation << 2 * TASK_BITS | tasks << TASK_BITS | next task */
    _Atomic int64_t done;  /* tasks of the current run finished */
    _Atomic int stopping;
    _Atomic int sleepers;  /* workers on (or about to wait on) `wake` */
    uint64_t generation;   /* the caller's count of runs */
    /* The current run's task; read only by a thread holding one of its claimed tasks, which
     * the caller waits for before it writes the next run's. */
    molt_task_fn fn;
    void *context;
    scratch_slot *scratch; /* threads + 1 slots */
};

typedef struct {
    molt_pool *pool;
    int worker;
} worker_start;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static uint64_t now_nanoseconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t generation_of(uint64_t work) { return work >> (2 * TASK_BITS); }

/* Claims and runs tasks of `generation` until none are left. Which thread computes a task
 * never changes its result. */
static void take_tasks(molt_pool *pool, uint64_t generation, int worker) {
    uint64_t work = atomic_load_explicit(&pool->work, memory_order_acquire);
    for (;;) {
        uint64_t next = work & MASK, tasks = (work >> TASK_BITS) & MASK;
        if (generation_of(work) != generation || next >= tasks) return;
        if (!atomic_compare_exchange_weak_explicit(&pool->work, &work, work + 1, memory_order_acq_rel,
                                                   memory_order_acquire))
            continue;
        pool->fn(pool->context, (int64_t)next, worker);
        atomic_fetch_add_explicit(&pool->done, 1, memory_order_release);
        work = atomic_load_explicit(&pool->work, memory_order_acquire);
    }
}

static void *worker_main(void *argument) {
    worker_start start = *(worker_start *)argument;
    free(argument);
    molt_pool *pool = start.pool;
    uint64_t seen = 0;
    for (;;) {
        uint64_t generation = generation_of(atomic_load_explicit(&pool->work, memory_order_acquire));
        if (generation == seen) {
            uint64_t deadline = now_nanoseconds() + SPIN_NANOSECONDS;
            for (unsigned spins = 1; generation == seen; spins++) {
                cpu_relax();
                generation = generation_of(atomic_load_explicit(&pool->work, memory_order_acquire));
                if (spins % 256 == 0 && now_nanoseconds() > deadline) break;
            }
        }
        if (generation == seen) {
            /* Counted before the work word is read again (both sequentially consistent): a
             * caller publishing a run either sees this sleeper and wakes it, or published
             * before the read below, which then finds the run. */
            pthread_mutex_lock(&pool->sleep_lock);
            atomic_fetch_add(&pool->sleepers, 1);
            while ((generation = generation_of(atomic_load(&pool->work))) == seen && !atomic_load(&pool->stopping))
                pthread_cond_wait(&pool->wake, &pool->sleep_lock);
            atomic_fetch_sub(&pool->sleepers, 1);
            pthread_mutex_unlock(&pool->sleep_lock);
        }
        if (atomic_load(&pool->stopping)) return NULL;
        seen = generation;
        take_tasks(pool, generation, start.worker);
    }
}

molt_pool *molt_pool_create(int threads) {
    if (threads < 1) threads = 1;
    molt_pool *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pool->threads = threads;
    pool->scratch = calloc((size_t)threads + 1, sizeof *pool->scratch);
    pool->handles = calloc((size_t)threads, sizeof *pool->handles);
    if (!pool->scratch || !pool->handles) {
        free(pool->scratch);
        free(pool->handles);
        free(pool);
        return NULL;
    }
    pthread_mutex_init(&pool->run_lock, NULL);
    pthread_mutex_init(&pool->sleep_lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    for (int i = 1; i < threads; i++) {
        worker_start *start = malloc(sizeof *start);
        if (start) *start = (worker_start){pool, i};
        if (!start || pthread_create(&pool->handles[i], NULL, worker_main, start) != 0) {
            free(start);
            pool->threads = i; /* run with the workers that did start */
            break;
        }
    }
    return pool;
}

void molt_pool_destroy(molt_pool *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->sleep_lock);
    atomic_store(&pool->stopping, 1);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->sleep_lock);
    for (int i = 1; i < pool->threads; i++) pthread_join(pool->handles[i], NULL);
    for (int i = 0; i <= pool->threads; i++) free(pool->scratch[i].memory);
    pthread_mutex_destroy(&pool->run_lock);
    pthread_mutex_destroy(&pool->sleep_lock);
    pthread_cond_destroy(&pool->wake);
    free(pool->scratch);
    free(pool->handles);
    free(pool);
}

int molt_pool_threads(const molt_pool *pool) { return pool->threads; }

void molt_pool_lock(molt_pool *pool) { pthread_mutex_lock(&pool->run_lock); }
void molt_pool_unlock(molt_pool *pool) { pthread_mutex_unlock(&pool->run_lock); }

void molt_pool_run(molt_pool *pool, int64_t tasks, molt_task_fn fn, void *context) {
    /* More tasks than the word holds never happens at this project's sizes (a matmul makes
     * one task per 32 rows); such a run is still correct, on the calling thread alone. */
    if (pool->threads == 1 || tasks <= 1 || tasks > TASK_LIMIT) {
        for (int64_t task = 0; task < tasks; task++) fn(context, task, 0);
        return;
    }
    pool->fn = fn;
    pool->context = context;
    atomic_store_explicit(&pool->done, 0, memory_order_relaxed);
    pool->generation = (pool->generation + 1) & ((1u << (64 - 2 * TASK_BITS)) - 1);
    if (pool->generation == 0) pool->generation = 1; /* 0 is the workers' initial "seen" */
    atomic_store(&pool->work, pool->generation << (2 * TASK_BITS) | (uint64_t)tasks << TASK_BITS);
    /* Workers still spinning from the last run see the word change; the lock and broadcast
     * (a system call) are for sleeping ones only, the first run after a pause. */
    if (atomic_load(&pool->sleepers) > 0) {
        pthread_mutex_lock(&pool->sleep_lock);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->sleep_lock);
    }
    take_tasks(pool, pool->generation, 0);
    while (atomic_load_explicit(&pool->done, memory_order_acquire) < tasks) cpu_relax();
}

/* Runs by ranges use at most this many threads (a pool larger than that is not this
 * project's use). */
#define RANGE_LIMIT 64

/* A range of tasks, [front, back), as one word: its owner takes tasks from the front, others
 * from the back, each by compare-and-swap, so every task is taken exactly once. One cache
 * line each, so that a thread's claims do not take the line others claim from. */
typedef struct {
    _Alignas(64) _Atomic uint64_t word; /* back << 32 | front */
} task_range;

typedef struct {
    molt_task_fn fn;
    void *context;
    int64_t ranges;
    task_range range[RANGE_LIMIT];
} ranges_job;

static int take_from(_Atomic uint64_t *range, int front, int64_t *task) {
    uint64_t word = atomic_load_explicit(range, memory_order_relaxed);
    for (;;) {
        uint64_t first = word & 0xFFFFFFFFu, back = word >> 32;
        if (first >= back) return 0;
        uint64_t taken = front ? word + 1 : word - ((uint64_t)1 << 32);
        if (atomic_compare_exchange_weak_explicit(range, &word, taken, memory_order_relaxed, memory_order_relaxed)) {
            *task = (int64_t)(front ? first : back - 1);
            return 1;
        }
    }
}

/* Pool task r: range r from its front, then the other ranges from their backs. Whichever
 * thread runs it, the tasks it takes are a contiguous run while it stays in one range. */
static void range_task(void *context, int64_t r, int worker) {
    ranges_job *job = context;
    int64_t task;
    while (take_from(&job->range[r].word, 1, &task)) job->fn(job->context, task, worker);
    for (int64_t k = 1; k < job->ranges; k++)
        while (take_from(&job->range[(r + k) % job->ranges].word, 0, &task)) job->fn(job->context, task, worker);
}

void molt_pool_run_ranges(molt_pool *pool, int64_t tasks, molt_task_fn fn, void *context) {
    int64_t ranges = pool->threads < tasks ? pool->threads : tasks;
    if (ranges > RANGE_LIMIT) ranges = RANGE_LIMIT;
    if (ranges <= 1 || tasks > (int64_t)UINT32_MAX) {
        molt_pool_run(pool, tasks, fn, context);
        return;
    }
    ranges_job job = {.fn = fn, .context = context, .ranges = ranges};
    for (int64_t r = 0; r < ranges; r++)
        atomic_init(&job.range[r].word, (uint64_t)(tasks * (r + 1) / ranges) << 32 | (uint64_t)(tasks * r / ranges));
    /* molt_pool_run publishes the run after these stores, so every thread sees them. */
    molt_pool_run(pool, ranges, range_task, &job);
}

void *molt_pool_scratch(molt_pool *pool, int slot, size_t bytes) {
    scratch_slot *s = &pool->scratch[slot];
    if (!s->memory || s->size < bytes) {
        size_t size = bytes ? (bytes + 63) & ~(size_t)63 : 64;
        void *memory = aligned_alloc(64, size);
        if (!memory) return NULL;
        free(s->memory);
        s->memory = memory;
        s->size = size;
    }
    return s->memory;
}

typedef struct {
    molt_parallel_fn fn;
    void *context;
} parallel_job;

static void parallel_task(void *context, int64_t task, int worker) {
    (void)worker;
    parallel_job *job = context;
    job->fn(job->context, task);
}

void molt_pool_parallel(molt_pool *pool, int64_t tasks, molt_parallel_fn fn, void *context) {
    parallel_job job = {fn, context};
    molt_pool_lock(pool);
    molt_pool_run_ranges(pool, tasks, parallel_task, &job);
    molt_pool_unlock(pool);
}
