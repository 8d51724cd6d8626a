import Primitives

/// When one target is scraped, and what each of its slots comes to: a pure state machine over
/// explicit times (nanoseconds since the Unix epoch) that returns what to do next. `ScrapeLoop`
/// carries its actions out; it never sleeps but for a `waitForSlot`.
///
/// The slots are the target's ``ScrapeSlots``, from the first at or after the start. At each slot
/// the ownership oracle's answer (an input) decides between scraping it and leaving it to another
/// member. A loop that finishes a slot more than an interval late skips the slots it missed. A
/// target removed from discovery gets staleness markers, unless its last slot was another
/// member's (that member carries the series on); a loop stopped quietly (shutdown,
/// reconfiguration) never adds markers.
struct ScrapeSchedule: Sendable, Equatable {
    /// Why a loop stops.
    enum StopReason: Sendable, Equatable {
        /// Gone from discovery: its series get staleness markers.
        case removed
        /// Reconfiguration: no markers (another loop takes over).
        case quiet
        /// Shutdown or cancellation: no markers (another member or the next process takes over),
        /// but for this member's `agentd_target_owner` series.
        case shutdown
        /// The job went over its `target_limit`: markers as for a removed target, though the target
        /// stays (its new loop fails every scrape with the reason).
        case overTargetLimit
    }

    enum Action: Sendable, Equatable {
        /// Wait until `slot`, then ask the ownership oracle whether it is this member's and pass
        /// the answer to ``ScrapeSchedule/slotReached(owned:)``.
        case waitForSlot(Int64)
        /// More than an interval late: the `skipped` slots up to `next` are skipped, the first of
        /// them missed by `behind` nanoseconds. Otherwise as `waitForSlot(next)`.
        case skipMissedSlots(behind: Int64, next: Int64, skipped: Int)
        /// Scrape the target for `slot`, then call ``ScrapeSchedule/slotDone(now:)``.
        case scrape(slot: Int64)
        /// `slot` is another member's: forget the previous scrape (its series go on there, without
        /// staleness markers), then call ``ScrapeSchedule/slotDone(now:)``.
        case leaveToOwner(slot: Int64)
        /// Stopped: append staleness markers for the series of the last scrape, and end.
        case appendStaleness
        /// Stopped: end.
        case finish
    }

    private enum State: Sendable, Equatable {
        /// Waiting for `slot`.
        case waiting
        /// In `slot`: scraping it, or leaving it to its owner.
        case inSlot
        case stopped
    }

    let slots: ScrapeSlots
    /// The slot waited for, or the one in progress.
    private(set) var slot: Int64
    private var state = State.waiting
    /// Whether this member scraped the last slot reached.
    private var scrapedLastSlot = false

    /// A schedule starting at `now`: its first slot is the first at or after it.
    init(slots: ScrapeSlots, now: Int64) {
        self.slots = slots
        self.slot = slots.slot(atOrAfter: now)
    }

    /// What to do first: wait for the first slot.
    var firstAction: Action { .waitForSlot(slot) }

    /// The slot waited for has come; `owned` is the oracle's answer for it.
    mutating func slotReached(owned: Bool) -> Action {
        precondition(state == .waiting, "slotReached(owned:) outside a wait for a slot")
        state = .inSlot
        scrapedLastSlot = owned
        return owned ? .scrape(slot: slot) : .leaveToOwner(slot: slot)
    }

    /// The slot in progress is done (scraped or left) at `now`: wait for the next one, or skip to
    /// the first at or after `now` when the next one is more than an interval past.
    mutating func slotDone(now: Int64) -> Action {
        precondition(state == .inSlot, "slotDone(now:) outside a slot")
        state = .waiting
        slot += slots.interval
        if slot <= now - slots.interval {
            let firstMissed = slot
            slot = slots.slot(atOrAfter: now)
            return .skipMissedSlots(
                behind: now - firstMissed, next: slot, skipped: Int((slot - firstMissed) / slots.interval))
        }
        return .waitForSlot(slot)
    }

    /// The loop is stopped for `reason` (while waiting, or in a slot that it abandons).
    mutating func stop(_ reason: StopReason) -> Action {
        guard state != .stopped else { return .finish }
        state = .stopped
        return (reason == .removed || reason == .overTargetLimit) && scrapedLastSlot ? .appendStaleness : .finish
    }
}
