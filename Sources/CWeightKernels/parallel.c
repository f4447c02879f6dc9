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
// balance themselves. Between jobs a worker spins briefly (decoding issues jobs back to back),
// then yields its core to other threads (OpenBLAS's, during a matrix product) for a while, then
// sleeps on a condition variable until the next job.

enum { MAX_WORKERS = 63, PAUSES = 1 << 11, YIELDS = 1 << 12 };

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
        int waits = 0;
        while ((current = atomic_load_explicit(&pool.generation, memory_order_acquire)) == seen) {
            if (++waits < PAUSES) {
                CPU_RELAX();
            } else if (waits < PAUSES + YIELDS) {
                sched_yield();
            } else {
                pthread_mutex_lock(&pool.lock);
                pool.sleepers++;
                while (atomic_load_explicit(&pool.generation, memory_order_acquire) == seen) pthread_cond_wait(&pool.wake, &pool.lock);
                pool.sleepers--;
                pthread_mutex_unlock(&pool.lock);
                waits = 0;
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
    while (atomic_load_explicit(&pool.remaining, memory_order_acquire) > 0) CPU_RELAX();
    pthread_mutex_unlock(&pool.busy);
}

// Matrix-vector products: one task per thread, each a contiguous range of output rows.

typedef struct {
    const void *values;
    const float *scales;
    const float *x;
    float *y;
    size_t rows, cols, parts;
} gemv_job;

static void gemv_q8_part(void *context, size_t part, size_t thread) {
    (void)thread;
    const gemv_job *job = context;
    const size_t begin = job->rows * part / job->parts, end = job->rows * (part + 1) / job->parts;
    if (begin < end) vlm_gemv_q8(job->values, job->scales, job->x, job->y + begin, begin, end, job->cols);
}

static void gemv_bf16_part(void *context, size_t part, size_t thread) {
    (void)thread;
    const gemv_job *job = context;
    const size_t begin = job->rows * part / job->parts, end = job->rows * (part + 1) / job->parts;
    if (begin < end) vlm_gemv_bf16(job->values, job->x, job->y + begin, begin, end, job->cols);
}

// Small products are not worth the hand-off.
static size_t gemv_parts(size_t rows, size_t cols) {
    return rows * cols < (1u << 16) || rows < 64 ? 1 : vlm_parallel_threads();
}

void vlm_parallel_gemv_q8(const int8_t *values, const float *scales, const float *x, float *y, size_t rows, size_t cols) {
    gemv_job job = {values, scales, x, y, rows, cols, gemv_parts(rows, cols)};
    vlm_parallel_for(job.parts, &job, gemv_q8_part);
}

void vlm_parallel_gemv_bf16(const uint16_t *values, const float *x, float *y, size_t rows, size_t cols) {
    gemv_job job = {values, NULL, x, y, rows, cols, gemv_parts(rows, cols)};
    vlm_parallel_for(job.parts, &job, gemv_bf16_part);
}
