import Testing

@testable import RemoteWrite

@Suite struct RetryAfterTests {
    @Test func secondsAndHTTPDatesAreUnderstood() {
        #expect(RetryAfter.delay("7", now: 0) == .seconds(7))
        // Sun, 06 Nov 1994 08:49:37 GMT is 784111777.
        #expect(RetryAfter.delay("Sun, 06 Nov 1994 08:49:37 GMT", now: 784_111_770) == .seconds(7))
        #expect(RetryAfter.delay("Sun, 06 Nov 1994 08:49:37 GMT", now: 784_111_800) == nil)
        #expect(RetryAfter.delay("soon", now: 0) == nil)
        #expect(RetryAfter.delay("-3", now: 0) == nil)
    }
}
