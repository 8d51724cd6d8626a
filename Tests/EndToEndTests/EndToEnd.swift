import Testing

/// Every end-to-end suite runs inside this one, one test at a time among themselves: each
/// drives real processes at a 1 s scrape interval and bounds what it sees in slots and
/// seconds (a SIGKILLed member taken over within 6 s), and on two cores they starve each
/// other when run together (the takeover took 4–5 s instead of 1.5–2 s). They run alongside
/// the rest of the suite: they wait with `waitUntil`, which holds no thread of the
/// concurrency pool.
@Suite(.serialized) enum EndToEnd {}
