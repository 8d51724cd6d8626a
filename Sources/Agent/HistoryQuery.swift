import Config
import Foundation
import Projections

/// The CLI's filters: `target` is a 16-hex-digit key or `name=value` (repeatable),
/// `since`/`until` a duration back from now (`15m`), an RFC 3339 time or milliseconds since the epoch.
public func ownershipQuery(targets: [String], member: String?, since: String?, until: String?) throws
    -> OwnershipQuery
{
    var query = OwnershipQuery()
    for item in targets where !item.isEmpty {
        if let equals = item.firstIndex(of: "=") {
            query.targetLabels[String(item[..<equals])] = String(item[item.index(after: equals)...])
        } else if let key = UInt64(item, radix: 16) {
            query.targetKey = key
        } else {
            throw AgentError("target \(item): expected a 16-hex-digit key or name=value")
        }
    }
    query.member = member.flatMap { $0.isEmpty ? nil : $0 }
    query.since = try since.flatMap { $0.isEmpty ? nil : try parseTimeArgument($0, parameter: "since") }
    query.until = try until.flatMap { $0.isEmpty ? nil : try parseTimeArgument($0, parameter: "until") }
    return query
}

public func parseTimeArgument(_ text: String, parameter: String, now: Date = Date()) throws -> Int64 {
    if let milliseconds = Int64(text) { return milliseconds }
    if let duration = AlloyDuration.parse(text) {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return Int64((now.timeIntervalSince1970 - seconds) * 1000)
    }
    let formatter = ISO8601DateFormatter()
    for options: ISO8601DateFormatter.Options in [
        [.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime],
    ] {
        formatter.formatOptions = options
        if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970 * 1000) }
    }
    throw AgentError(
        "\(parameter): \"\(text)\" is neither a duration (2h, 30m), an RFC 3339 time nor milliseconds since the epoch"
    )
}
