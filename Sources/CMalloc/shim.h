// glibc's malloc controls (mallopt, malloc_trim), for Primitives' `Allocator` on Linux.
#if defined(__linux__) && __has_include(<malloc.h>)
#include <malloc.h>
#endif
