// glibc allocator settings for a process that allocates large, short-lived activation buffers.
#ifndef CMEMORYTUNING_H
#define CMEMORYTUNING_H

/// Keeps freed blocks of up to a few hundred MB in the heap for reuse instead of returning them
/// to the kernel (and paying for zeroed pages on the next allocation). No-op without glibc.
void vlm_keep_freed_memory(void);

#endif
