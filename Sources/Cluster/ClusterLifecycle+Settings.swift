extension ClusterLifecycle {
    /// The timing of a member's life: joining, rejoining, waiting for the cluster's size, leaving.
    public struct Settings: Sendable, Hashable {
        /// The wait before retrying a join nobody answered; it doubles with every further attempt,
        /// up to `maximumJoinRetryDelay` (1 s, 2 s, 4 s, … 30 s).
        public var firstJoinRetryDelay: Duration = .seconds(1)
        public var maximumJoinRetryDelay: Duration = .seconds(30)
        /// The most a member alone waits between joins of its seeds: alone with every other member
        /// declared dead (cut off by a partition, most likely), or announced alone because no seed
        /// answered in time. The partition's heal, or the seed that can answer again, is found
        /// within it.
        public var isolatedJoinRetryDelay: Duration = .seconds(2)
        /// How long a joining member waits for a seed to answer before it announces itself anyway,
        /// starting a cluster of its own that the others find (their joins, its retries).
        public var joinTimeout: Duration = .seconds(3)
        /// From the join's answer to the announcement: gossip already in flight arrives first (what
        /// the others remember of this member's previous run is refuted before it announces), and
        /// the hand-off delay is chosen for the cluster's real size.
        public var announceDelay: Duration = .milliseconds(300)
        /// `--cluster.rejoin-interval`: how often a member joins its seeds again, healing
        /// partitions; zero turns rejoining off, after an isolation too.
        public var rejoinInterval: Duration = .seconds(60)
        /// `--cluster.wait-for-size`: the members (this one included) to wait for; 0 or 1: none.
        public var waitForSize = 0
        /// `--cluster.wait-timeout`: how long to wait for them; zero: as long as it takes.
        public var waitTimeout: Duration = .zero
        /// How long a departed member keeps gossiping its departure before it stops.
        public var departureGrace: Duration = .milliseconds(300)
        /// The seeds are names to look up before every join, retry and rejoin (DNS names in
        /// `--cluster.join-addresses`): the lifecycle asks its shell with `.resolveSeeds` and joins
        /// the addresses `seedsResolved(_:now:)` hands back.
        public var resolvesSeeds = false

        public init() {}

        /// The wait after the join's attempt number `attempts` (the first retry after 0 or 1).
        public func joinRetryDelay(after attempts: Int) -> Duration {
            let doublings = min(max(attempts - 1, 0), 32)
            let delay = self.firstJoinRetryDelay * (1 << doublings)
            return min(delay, self.maximumJoinRetryDelay)
        }
    }
}
