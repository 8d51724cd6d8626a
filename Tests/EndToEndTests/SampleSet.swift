import Foundation
import RemoteWrite
import TestSupport

/// Samples by series and timestamp, each with its value's bit pattern: what a WAL holds or a
/// receiver stored, in a form two of them can be compared in, sample by sample.
struct SampleSet {
    /// Series (as ``key(_:)``) → timestamp (ms) → the value's bits (see ``bits(_:)``).
    private(set) var series: [String: [Int64: UInt64]] = [:]
    private(set) var count = 0
    /// Samples inserted, repeated ones included.
    private(set) var lines = 0
    /// Samples met again for a series and timestamp already held, with the same value.
    private(set) var repeated = 0
    /// Samples met again for a series and timestamp already held, with another value (the first is kept).
    private(set) var conflicting: [(series: String, timestamp: Int64)] = []

    /// Prometheus's StaleNaN marker.
    static let staleNaN: UInt64 = 0x7ff0_0000_0000_0002
    /// Prometheus's ordinary NaN (`value.NormalNaN`).
    static let normalNaN: UInt64 = 0x7ff8_0000_0000_0001

    /// The value's bits; every NaN but StaleNaN becomes Prometheus's ordinary NaN, since
    /// `agentd replay --format json` prints them all as `"NaN"`.
    static func bits(_ value: Double) -> UInt64 {
        value.bitPattern == staleNaN ? staleNaN : value.isNaN ? normalNaN : value.bitPattern
    }

    /// A value for a message.
    static func describe(_ bits: UInt64) -> String {
        bits == staleNaN ? "StaleNaN" : "\(Double(bitPattern: bits))"
    }

    /// A series' identity: its labels sorted by name, as `{a="1", b="2"}`.
    static func key(_ labels: [String: String]) -> String {
        "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ", ") + "}"
    }

    mutating func insert(series: String, timestamp: Int64, bits: UInt64) {
        lines += 1
        count += 1
        if let held = self.series[series, default: [:]].updateValue(bits, forKey: timestamp) {
            count -= 1
            if held == bits {
                repeated += 1
            } else {
                conflicting.append((series, timestamp))
                self.series[series]![timestamp] = held
            }
        }
    }

    /// The samples a remote read returned.
    init(_ received: [RemoteWriteSeries]) {
        for one in received {
            let key = Self.key(Dictionary(one.labels.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a }))
            for sample in one.samples {
                insert(series: key, timestamp: sample.timestamp, bits: Self.bits(sample.value))
            }
        }
    }

    private struct ReplayLine: Decodable {
        var labels: [String: String]
        var timestamp: Int64
        var value: String
        var stale: Bool?
    }

    /// The samples of `agentd replay --format json` output (one object a line); lines that are
    /// not samples (WAL damage reported on stderr) are returned apart.
    init(replayJSON output: String) throws {
        var samples: [Substring] = []
        var others: [Substring] = []
        for line in output.split(separator: "\n") where !line.isEmpty {
            if line.hasPrefix("{\"labels\":") { samples.append(line) } else { others.append(line) }
        }
        self.otherLines = others.map(String.init)
        let array = Data(("[" + samples.joined(separator: ",") + "]").utf8)
        for line in try JSONDecoder().decode([ReplayLine].self, from: array) {
            let bits: UInt64
            switch line.value {
            case _ where line.stale == true: bits = Self.staleNaN
            case "NaN": bits = Self.normalNaN
            case "+Inf": bits = Double.infinity.bitPattern
            case "-Inf": bits = (-Double.infinity).bitPattern
            default:
                guard let value = Double(line.value) else {
                    throw TestSupportError("agentd replay printed the value \"\(line.value)\"")
                }
                bits = value.bitPattern
            }
            insert(series: Self.key(line.labels), timestamp: line.timestamp, bits: bits)
        }
    }

    /// Output lines of `agentd replay` that were not samples.
    private(set) var otherLines: [String] = []

    /// Samples in `self` and not in `other`, sorted by timestamp then series.
    func subtracting(_ other: SampleSet) -> [Sample] {
        var result: [Sample] = []
        for (key, samples) in series {
            let theirs = other.series[key] ?? [:]
            for (timestamp, bits) in samples where theirs[timestamp] == nil {
                result.append(Sample(series: key, timestamp: timestamp, bits: bits))
            }
        }
        return result.sorted { ($0.timestamp, $0.series) < ($1.timestamp, $1.series) }
    }

    /// Samples both hold with different values: (mine, theirs).
    func differences(from other: SampleSet) -> [(Sample, UInt64)] {
        var result: [(Sample, UInt64)] = []
        for (key, samples) in series {
            guard let theirs = other.series[key] else { continue }
            for (timestamp, bits) in samples {
                if let their = theirs[timestamp], their != bits {
                    result.append((Sample(series: key, timestamp: timestamp, bits: bits), their))
                }
            }
        }
        return result.sorted { ($0.0.timestamp, $0.0.series) < ($1.0.timestamp, $1.0.series) }
    }

    /// StaleNaN markers held.
    var staleMarkers: Int { series.values.reduce(0) { $0 + $1.values.filter { $0 == Self.staleNaN }.count } }

    struct Sample: CustomStringConvertible {
        var series: String
        var timestamp: Int64
        var bits: UInt64

        var description: String { "\(series) @ \(timestamp) (\(clock(timestamp))) = \(SampleSet.describe(bits))" }
    }
}

/// A millisecond timestamp as a UTC time of day, `HH:MM:SS.mmm`.
func clock(_ milliseconds: Int64) -> String {
    let seconds = milliseconds / 1000
    return String(
        format: "%02lld:%02lld:%02lld.%03lld", (seconds / 3600) % 24, (seconds / 60) % 60, seconds % 60,
        milliseconds % 1000)
}

/// Up to `count` elements spread evenly over `items`, first and last included.
func spread<T>(_ items: [T], _ count: Int) -> [T] {
    guard items.count > count, count > 1 else { return Array(items.prefix(count)) }
    return (0..<count).map { items[$0 * (items.count - 1) / (count - 1)] }
}
