#include "weight_kernels.h"

#include <cblas.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

// A fixed team: the calling thread plus one worker per extra core. A job is published by
// bumping `generation`; its tasks are handed out through an atomic counter, so uneven tasks
// balance themselves. Between jobs a worker spins briefly (decoding issues jobs back to back,
// a few microseconds apart), then sleeps on a condition variable until the next job. The spin is
// short because of what it costs when another busy process shares the machine: the scheduler
// may then put the worker on the caller's core, where its spinning keeps the caller, who is
// about to publish the next job, off the CPU. Measured on 2 cores beside a busy-loop process
// (q8 decoding, tokens/s): 2^8 pauses 40, 2^10 35, 2^12 20, 2^16 2.5; alone, 2^10 is as fast as
// any. The worker never spins on sched_yield: beside another process a yield can hand it the
// core for a whole time slice.

enum { MAX_WORKERS = 63, SPINS_BEFORE_SLEEP = 1 << 10, CALLER_SPINS = 1 << 10 };

static struct {
    pthread_once_t once;
    int workers;
    _Atomic unsigned long generation;
    // Workers that have not finished the current job.
    _Atomic int remaining;
    // The next task index to hand out.
    _Atomic size_t next;
    size_t count;
    void *context;
    vlm_task task;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int sleepers;
    // Held for a whole job: a second caller (two generations at once) runs its tasks on its own thread.
    pthread_mutex_t busy;
} pool = {.once = PTHREAD_ONCE_INIT, .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER,
          .busy = PTHREAD_MUTEX_INITIALIZER};

static void take_tasks(size_t thread) {
    size_t index;
    while ((index = atomic_fetch_add_explicit(&pool.next, 1, memory_order_relaxed)) < pool.count)
        pool.task(pool.context, index, thread);
}

static void *worker_main(void *argument) {
    const size_t thread = (size_t)argument + 1;
    unsigned long seen = 0;
    for (;;) {
        unsigned long current;
        int spins = 0;
        while ((current = atomic_load_explicit(&pool.generation, memory_order_acquire)) == seen) {
            if (++spins < SPINS_BEFORE_SLEEP) {
                CPU_RELAX();
            } else {
                pthread_mutex_lock(&pool.lock);
                pool.sleepers++;
                while (atomic_load_explicit(&pool.generation, memory_order_acquire) == seen) pthread_cond_wait(&pool.wake, &pool.lock);
                pool.sleepers--;
                pthread_mutex_unlock(&pool.lock);
                spins = 0;
            }
        }
        seen = current;
        take_tasks(thread);
        atomic_fetch_sub_explicit(&pool.remaining, 1, memory_order_release);
    }
    return NULL;
}

static void start_pool(void) {
    // The team is the process's one pool: OpenBLAS's own threads would compete with it for cores.
    openblas_set_num_threads(1);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int workers = cores > 1 ? (int)(cores - 1) : 0;
    if (workers > MAX_WORKERS) workers = MAX_WORKERS;
    int started = 0;
    for (int i = 0; i < workers; i++) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, worker_main, (void *)(size_t)i) != 0) break;
        pthread_detach(thread);
        started++;
    }
    pool.workers = started;
}

size_t vlm_parallel_threads(void) {
    pthread_once(&pool.once, start_pool);
    return (size_t)pool.workers + 1;
}

void vlm_parallel_for(size_t count, void *context, vlm_task task) {
    pthread_once(&pool.once, start_pool);
    if (count == 0) return;
    if (count == 1 || pool.workers == 0 || pthread_mutex_trylock(&pool.busy) != 0) {
        for (size_t index = 0; index < count; index++) task(context, index, 0);
        return;
    }
    pool.count = count;
    pool.context = context;
    pool.task = task;
    atomic_store_explicit(&pool.next, 0, memory_order_relaxed);
    atomic_store_explicit(&pool.remaining, pool.workers, memory_order_relaxed);
    atomic_fetch_add_explicit(&pool.generation, 1, memory_order_release);
    pthread_mutex_lock(&pool.lock);
    if (pool.sleepers > 0) pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    take_tasks(0);
    // A worker the scheduler put on this very core (beside another busy process, say) cannot run
    // while this thread spins: after a short spin, give the core up until it has finished.
    for (int spins = 0; atomic_load_explicit(&pool.remaining, memory_order_acquire) > 0; spins++) {
        if (spins < CALLER_SPINS) CPU_RELAX();
        else sched_yield();
    }
    pthread_mutex_unlock(&pool.busy);
}
