import Testing

/// The end-to-end suites: real node exporters, Prometheus receivers, agentd processes and
/// Chromium. They wait with `waitUntil`, which holds no thread of the concurrency pool, so
/// they run alongside the rest of the suite.
@Suite enum EndToEnd {
    /// The heavy ones run one at a time among themselves: each drives a cluster or a
    /// crash-and-outage workload at a 1 s scrape interval and bounds what it sees in slots and
    /// seconds (a SIGKILLed member taken over within 6 s). Run together on two cores, they
    /// starve each other: the takeover took 4–5 s instead of 1.5–2 s.
    @Suite(.serialized) enum Heavy {}
}
