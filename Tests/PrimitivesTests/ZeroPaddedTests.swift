import Primitives
import Testing

@Suite struct ZeroPaddedTests {
    @Test func shortValuesGetLeadingZerosAndLongOnesAreWrittenWhole() {
        #expect(String(42, zeroPaddedTo: 8) == "00000042")
        #expect(String(0, zeroPaddedTo: 2) == "00")
        #expect(String(123_456_789, zeroPaddedTo: 8) == "123456789")
        #expect(String(UInt64(0xbeef), radix: 16, zeroPaddedTo: 16) == "000000000000beef")
        #expect(String(UInt64.max, radix: 16, zeroPaddedTo: 16) == "ffffffffffffffff")
        #expect(String(UInt32(0x1f), radix: 16, zeroPaddedTo: 4) == "001f")
    }
}
