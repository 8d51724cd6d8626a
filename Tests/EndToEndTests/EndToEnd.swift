import Testing

/// Every end-to-end suite runs inside this one, one test at a time among themselves: each
/// starts real processes scraping at a 1 s interval, and on a two-core machine they must
/// not starve each other's scrape slots. They run alongside the rest of the suite: they
/// wait with `waitUntil`, which holds no thread of the concurrency pool.
@Suite(.serialized) enum EndToEnd {}
