#include "CMemoryTuning.h"

#if defined(__GLIBC__)
#include <malloc.h>

void vlm_keep_freed_memory(void) {
    // Blocks above M_MMAP_THRESHOLD get their own mmap and go back to the kernel on free; every
    // layer's activations then fault in fresh zeroed pages. Serve them from the heap instead and
    // only trim it when more than 1 GB sits free.
    mallopt(M_MMAP_THRESHOLD, 512 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
}
#else
void vlm_keep_freed_memory(void) {}
#endif
