#include "weight_kernels.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

// A fixed team: the calling thread plus one worker per extra core. A job is published by
// bumping `generation`; workers spin on it for a while (calls come back to back while a token
// is decoded), then sleep on a condition variable until the next job.

enum { MAX_WORKERS = 63, SPINS_BEFORE_SLEEP = 1 << 16 };

typedef struct {
    const void *values;
    const float *scales;
    const float *x;
    float *y;
    size_t rows, cols;
    int is_q8;
} gemv_job;

static struct {
    pthread_once_t once;
    int workers;
    _Atomic unsigned long generation;
    _Atomic int remaining;
    gemv_job job;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int sleepers;
    // Held for a whole job: a second caller (two generations at once) computes on its own thread.
    pthread_mutex_t busy;
} pool = {.once = PTHREAD_ONCE_INIT, .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER,
          .busy = PTHREAD_MUTEX_INITIALIZER};

static void run_part(const gemv_job *job, size_t part, size_t parts) {
    const size_t begin = job->rows * part / parts, end = job->rows * (part + 1) / parts;
    if (begin == end) return;
    if (job->is_q8) vlm_gemv_q8(job->values, job->scales, job->x, job->y + begin, begin, end, job->cols);
    else vlm_gemv_bf16(job->values, job->x, job->y + begin, begin, end, job->cols);
}

static void *worker_main(void *argument) {
    const size_t index = (size_t)argument;
    unsigned long seen = 0;
    for (;;) {
        unsigned long current;
        int spins = 0;
        while ((current = atomic_load_explicit(&pool.generation, memory_order_acquire)) == seen) {
            if (++spins < SPINS_BEFORE_SLEEP) {
                CPU_RELAX();
                continue;
            }
            pthread_mutex_lock(&pool.lock);
            pool.sleepers++;
            while (atomic_load_explicit(&pool.generation, memory_order_acquire) == seen) pthread_cond_wait(&pool.wake, &pool.lock);
            pool.sleepers--;
            pthread_mutex_unlock(&pool.lock);
            spins = 0;
        }
        seen = current;
        run_part(&pool.job, index + 1, (size_t)pool.workers + 1);
        atomic_fetch_sub_explicit(&pool.remaining, 1, memory_order_release);
    }
    return NULL;
}

static void start_pool(void) {
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

static void run_job(const gemv_job *job) {
    // Small products are not worth the hand-off.
    if (job->rows * job->cols < (1u << 16) || job->rows < 64) {
        run_part(job, 0, 1);
        return;
    }
    pthread_once(&pool.once, start_pool);
    if (pool.workers == 0 || pthread_mutex_trylock(&pool.busy) != 0) {
        run_part(job, 0, 1);
        return;
    }
    pool.job = *job;
    atomic_store_explicit(&pool.remaining, pool.workers, memory_order_relaxed);
    atomic_fetch_add_explicit(&pool.generation, 1, memory_order_release);
    pthread_mutex_lock(&pool.lock);
    if (pool.sleepers > 0) pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    run_part(job, 0, (size_t)pool.workers + 1);
    while (atomic_load_explicit(&pool.remaining, memory_order_acquire) > 0) CPU_RELAX();
    pthread_mutex_unlock(&pool.busy);
}

void vlm_parallel_gemv_q8(const int8_t *values, const float *scales, const float *x, float *y, size_t rows, size_t cols) {
    gemv_job job = {values, scales, x, y, rows, cols, 1};
    run_job(&job);
}

void vlm_parallel_gemv_bf16(const uint16_t *values, const float *x, float *y, size_t rows, size_t cols) {
    gemv_job job = {values, NULL, x, y, rows, cols, 0};
    run_job(&job);
}
