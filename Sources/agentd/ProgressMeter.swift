import Foundation
import Primitives
import WAL

#if canImport(Glibc)
    import Glibc
#endif

/// Progress of a long command on standard error: on a terminal a bar redrawn in place (at most
/// ten times a second) with the rate and the time left; otherwise a plain line every ten seconds,
/// so that logs collected from a pipe stay readable. Both end with the final figures.
final class ProgressMeter {
    private let title: String
    private let total: Int
    private let isTerminal: Bool
    private let began = ContinuousClock.now
    private var lastShown: ContinuousClock.Instant?
    private var done = 0

    init(title: String, total: Int, isTerminal: Bool = isatty(STDERR_FILENO) == 1) {
        self.title = title
        self.total = total
        self.isTerminal = isTerminal
        if isTerminal { show() }
    }

    /// The work done so far (in the units of `total`).
    func update(_ done: Int) {
        self.done = done
        let now = ContinuousClock.now
        let every: Duration = isTerminal ? .milliseconds(100) : .seconds(10)
        if now - (lastShown ?? began) >= every { show(at: now) }
    }

    /// Shows the last figures at 100% and ends the line.
    func finish() {
        done = total
        show()
        if isTerminal { write("\n") }
    }

    private func show(at now: ContinuousClock.Instant = .now) {
        lastShown = now
        let line = ProgressLine(title: title, done: done, total: total, elapsed: (now - began).seconds)
        if isTerminal {
            write("\r\u{1B}[2K" + line.text())
        } else {
            write(line.text(barWidth: 0) + "\n")
        }
    }

    private func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }
}

/// Where a position lies in a WAL directory's bytes, for progress over segments read in order.
struct WALProgressScale {
    /// Each segment's size and the bytes of the segments before it.
    private var sizes: [Int: (size: Int, before: Int)] = [:]
    let total: Int

    init(directory: String, segments: [Int]? = nil) {
        var before = 0
        for segment in segments ?? ((try? SegmentName.list(in: directory)) ?? []) {
            var info = stat()
            let size = stat(SegmentName.path(segment, in: directory), &info) == 0 ? Int(info.st_size) : 0
            sizes[segment] = (size, before)
            before += size
        }
        total = before
    }

    /// The bytes before `position`.
    func bytes(before position: Position) -> Int {
        guard let entry = sizes[position.segment] else { return 0 }
        return entry.before + min(position.offset, entry.size)
    }
}
