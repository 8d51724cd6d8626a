/// What discovery's new target set for a job changes in its loops, worked out from the running
/// loops alone: new targets start, removed targets stop with staleness markers, targets whose
/// settings or labels changed restart quietly, unchanged targets are left alone.
struct ScrapeJobUpdate: Sendable, Equatable {
    /// A loop to stop, and why.
    struct Stop: Sendable, Equatable {
        var key: UInt64
        var reason: ScrapeSchedule.StopReason
    }

    /// Loops to stop.
    var stops: [Stop] = []
    /// Loops to start (new targets, and the restarted ones).
    var starts: [ScrapeTarget] = []
    /// Targets new to the job, for the `targets` event.
    var added: [ScrapeTarget] = []
    /// Targets gone from the job, for the `targets` event.
    var removed: [UInt64] = []

    /// The update from the loops `running` (target and settings by key) to `targets` with `settings`.
    /// A key listed twice in `targets` is the first.
    init(
        running: [UInt64: (target: ScrapeTarget, settings: ScrapeSettings)], targets: [ScrapeTarget],
        settings: ScrapeSettings
    ) {
        var wanted: [UInt64: ScrapeTarget] = [:]
        var order: [ScrapeTarget] = []
        for target in targets where wanted[target.key] == nil {
            wanted[target.key] = target
            order.append(target)
        }
        for (key, loop) in running.sorted(by: { $0.key < $1.key }) {
            if wanted[key] == nil {
                stops.append(Stop(key: key, reason: .removed))
                removed.append(key)
            } else if loop.settings != settings || loop.target != wanted[key] {
                let overLimit = loop.settings.targetLimitFailure == nil && settings.targetLimitFailure != nil
                stops.append(Stop(key: key, reason: overLimit ? .overTargetLimit : .quiet))
                starts.append(wanted[key]!)
            }
        }
        for target in order where running[target.key] == nil {
            starts.append(target)
            added.append(target)
        }
    }

    /// Whether the job's target set changed (a `targets` event is due).
    var changesTargets: Bool { !added.isEmpty || !removed.isEmpty }
}
