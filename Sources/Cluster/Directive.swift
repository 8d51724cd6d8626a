/// What the cluster state machines ask their shell to do. ``Membership`` returns the first seven;
/// ``ClusterLifecycle``, which wraps it, adds the last four.
public enum Directive: Sendable, Hashable {
    /// Encode `message` with the membership's codec and send it to `address` (`host:port`).
    case send(Message, to: String)
    /// Call `onTick(now:)` again after this delay (replaces any earlier schedule).
    case scheduleTick(after: Duration)
    /// A member's state changed: append it to the event log.
    case membershipChanged(MembershipChange)
    /// A member published new target weights (`balance = "series"`): recompute ownership.
    case weightsChanged(String)
    /// Two members claim the same node name.
    case nameConflict(NameConflict)
    /// A member dead or departed for longer than `MembershipSettings.deadMemberRetention` was
    /// forgotten: it is no longer a peer (the event log keeps its history).
    case forgotten(Node)
    /// This node's graceful leave is complete: it may flush and exit once pending sends are out.
    case departed
    /// The cluster reached `--cluster.wait-for-size` (it has `clusterSize` members): scraping may start.
    case sizeReached(clusterSize: Int)
    /// `--cluster.wait-timeout` passed before the cluster reached its size: scraping starts anyway.
    case sizeWaitTimedOut(clusterSize: Int)
    /// Look the join addresses up and hand the result to `ClusterLifecycle.seedsResolved(_:now:)`
    /// (with `Settings.resolvesSeeds` only); the join waits for it.
    case resolveSeeds
    /// The graceful leave is over (departed and gossiped, or out of time): the shell may stop.
    case stop
}
