// The machine's limits, measured the way our kernels meet them: float32 GEMM throughput of the
// OpenBLAS the runtime links (cblas_sgemm on square matrices, the shape class of the vision
// encoder's products) and memory read bandwidth (streaming sums over a buffer far larger than
// the caches, the access pattern of a decoding step reading every weight once).
//
//   cc -O2 -fopenmp tools/bench/probe.c -o /tmp/probe $(pkg-config --cflags --libs openblas) && /tmp/probe
//
// Prints one JSON object: {"threads": T, "sgemm_gflops": G, "read_gbps": B}. Each figure is the
// best of several repetitions: a limit, not a typical value.
#include <cblas.h>
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static double sgemm_gflops(int n, int repetitions) {
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n), *c = malloc(sizeof(float) * n * n);
    for (long i = 0; i < (long)n * n; i++) { a[i] = (float)(i % 7) * 0.1f; b[i] = (float)(i % 5) * 0.1f; }
    double best = 1e30;
    for (int r = 0; r < repetitions + 1; r++) {  // the first run warms up the threads and pages
        double start = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
        double seconds = now() - start;
        if (r > 0 && seconds < best) best = seconds;
    }
    free(a); free(b); free(c);
    return 2.0 * n * n * (double)n / best / 1e9;
}

__attribute__((target("avx2")))
static float sum_range(const float *p, long count) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    for (long i = 0; i + 32 <= count; i += 32) {
        s0 = _mm256_add_ps(s0, _mm256_loadu_ps(p + i));
        s1 = _mm256_add_ps(s1, _mm256_loadu_ps(p + i + 8));
        s2 = _mm256_add_ps(s2, _mm256_loadu_ps(p + i + 16));
        s3 = _mm256_add_ps(s3, _mm256_loadu_ps(p + i + 24));
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
    float lanes[8];
    _mm256_storeu_ps(lanes, s);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
}

static double read_gbps(long bytes, int repetitions, int threads) {
    long count = bytes / sizeof(float);
    float *buffer = malloc(bytes);
    #pragma omp parallel for num_threads(threads)
    for (long i = 0; i < count; i++) buffer[i] = 1.0f;  // touched by the threads that read it
    double best = 1e30;
    volatile float sink = 0;
    for (int r = 0; r < repetitions; r++) {
        double start = now();
        float total = 0;
        #pragma omp parallel num_threads(threads) reduction(+ : total)
        {
            long part = count / omp_get_num_threads(), first = part * omp_get_thread_num();
            total += sum_range(buffer + first, part);
        }
        double seconds = now() - start;
        sink += total;
        if (seconds < best) best = seconds;
    }
    free(buffer);
    return bytes / best / 1e9;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    openblas_set_num_threads(threads);
    double gflops = sgemm_gflops(2048, 5);
    double gbps = read_gbps(1L << 30, 5, threads);
    printf("{\"threads\": %d, \"sgemm_gflops\": %.1f, \"read_gbps\": %.1f}\n", threads, gflops, gbps);
    return 0;
}
