import Foundation
import Primitives

/// A running suspicion with Lifeguard's dynamic timeout: it starts at `maximum` and shrinks
/// towards `minimum` as independent members confirm it (memberlist's `suspicion`):
/// `timeout = max(minimum, maximum − (maximum − minimum) · log(C + 1) / log(k + 1))` for `C`
/// confirmations out of `k` expected.
struct Suspicion: Sendable, Hashable {
    let start: ClusterTime
    let minimum: Duration
    let maximum: Duration
    let expectedConfirmations: Int
    /// Everyone who reported the suspicion, the first suspector first.
    private(set) var reporters: [String]

    init(start: ClusterTime, minimum: Duration, maximum: Duration, expectedConfirmations: Int, reporters: [String]) {
        self.start = start
        self.minimum = minimum
        self.maximum = max(minimum, maximum)
        self.expectedConfirmations = expectedConfirmations
        self.reporters = []
        for reporter in reporters { self.confirm(by: reporter) }
    }

    /// Independent confirmations beyond the first suspector.
    var confirmations: Int { max(0, self.reporters.count - 1) }

    /// Records a report, returning whether it came from a member not counted yet.
    @discardableResult
    mutating func confirm(by reporter: String) -> Bool {
        guard !self.reporters.contains(reporter) else { return false }
        self.reporters.append(reporter)
        return true
    }

    var timeout: Duration {
        guard self.expectedConfirmations >= 1 else { return self.minimum }
        let fraction = log(Double(self.confirmations) + 1) / log(Double(self.expectedConfirmations) + 1)
        let span = Double((self.maximum - self.minimum).nanoseconds)
        let raw = Duration.nanoseconds(self.maximum.nanoseconds - Int64(fraction * span))
        return max(raw, self.minimum)
    }

    var deadline: ClusterTime { self.start + self.timeout }
}
