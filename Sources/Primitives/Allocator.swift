#if canImport(Glibc)
    import CMalloc
#endif

/// The process's memory allocator.
public enum Allocator {
    /// Has glibc keep one arena, not one for each thread that meets another in it (up to eight a
    /// core); to be called before any thread starts. Does nothing where glibc is not the allocator.
    @inlinable
    public static func keepOneArena() {
        #if canImport(Glibc)
            mallopt(M_ARENA_MAX, 1)
        #endif
    }

    /// Gives the free memory inside the heap back to the kernel (glibc's `malloc_trim`). glibc
    /// returns freed memory on its own only from the heap's top and from blocks of its own
    /// mapping; a block freed in the middle stays resident, and is reused for the next allocation
    /// that fits. For a task that has just freed buffers it will not need for a while. Does
    /// nothing where glibc is not the allocator.
    public static func returnFreeMemory() {
        #if canImport(Glibc)
            _ = malloc_trim(0)
        #endif
    }
}
