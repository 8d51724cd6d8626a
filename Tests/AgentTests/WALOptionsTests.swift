import Testing

@testable import Agent

@Suite struct WALOptionsTests {
    @Test func theSyncDelayIsADurationFromZeroToOneSecond() throws {
        #expect(try syncDelay("20ms") == .milliseconds(20))
        #expect(try syncDelay("0s") == .zero)
        #expect(try syncDelay("1s") == .seconds(1))
        for refused in ["2s", "1.5s", "soon", ""] {
            let error = #expect(throws: AgentError.self) { try syncDelay(refused) }
            #expect(
                error?.description
                    == "--storage.wal-sync-delay must be a duration from 0s to 1s such as 20ms; got \"\(refused)\"")
        }
    }
}
