import Events
import Foundation
import Primitives
import Projections

/// One ownership change as `agentd ownership-history --format json` and the UI show it.
public struct OwnershipChangeRow: Encodable, Sendable {
    public var time: String
    public var timeMs: Int64
    public var effective: String
    public var effectiveMs: Int64
    public var target: String
    public var key: String
    public var labels: [String: String]
    public var from: String?
    public var to: String?
    public var cause: String
    public var detail: String
    public var walPosition: String

    public init(_ event: OwnershipEventRecord) {
        time = formatTimestamp(event.time)
        timeMs = event.time
        effective = formatTimestamp(event.effectiveTime)
        effectiveMs = event.effectiveTime
        target = Self.targetName(event)
        key = TargetKey.format(event.key)
        labels = event.targetLabels
        from = event.previousOwner
        to = event.newOwner
        cause = event.causeKind.rawValue
        detail = event.causeDetail
        walPosition = "\(event.position)"
    }

    /// The most readable name of a target: its instance, else its address, else its key.
    public static func targetName(_ event: OwnershipEventRecord) -> String {
        event.targetLabels["instance"] ?? event.targetLabels["__address__"] ?? TargetKey.format(event.key)
    }
}

/// Milliseconds since the epoch as an ISO 8601 time with milliseconds (UTC), as the CLI and UI print times.
public func formatTimestamp(_ milliseconds: Int64) -> String {
    UTCTime.milliseconds(milliseconds)
}
