import Primitives
import Testing

@Suite struct ProgressLineTests {
    @Test func theLineShowsTheShareTheBarTheRateAndTheTimeLeft() {
        let line = ProgressLine(title: "wal verify", done: 10 << 20, total: 40 << 20, elapsed: 2)
        #expect(line.fraction == 0.25)
        #expect(line.text(barWidth: 8) == "wal verify  25% [##······]  5.0 MiB/s  ETA 6s")
        #expect(line.text(barWidth: 0) == "wal verify  25%  5.0 MiB/s  ETA 6s")
    }

    @Test func beforeAnythingIsDoneThereIsNoRateOrEstimate() {
        #expect(
            ProgressLine(title: "replay", done: 0, total: 100, elapsed: 0).text(barWidth: 0) == "replay   0%  –  ETA –")
        // Nothing to do is done.
        #expect(ProgressLine(title: "replay", done: 0, total: 0, elapsed: 1).fraction == 1)
    }

    @Test(arguments: [(0.2, "1s"), (59.0, "59s"), (61.0, "1m01s"), (3_725.0, "1h02m")])
    func durationsAreShort(seconds: Double, text: String) {
        #expect(ProgressLine.duration(seconds) == text)
    }

    @Test(arguments: [(512.0, "512 B"), (1_536.0, "1.5 KiB"), (13_107_200.0, "12.5 MiB")])
    func byteCountsAreBinary(bytes: Double, text: String) {
        #expect(ProgressLine.bytes(bytes) == text)
    }
}
