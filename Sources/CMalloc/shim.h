// glibc's malloc tunables (mallopt), for agentd's entry point on Linux.
#if defined(__linux__) && __has_include(<malloc.h>)
#include <malloc.h>
#endif
