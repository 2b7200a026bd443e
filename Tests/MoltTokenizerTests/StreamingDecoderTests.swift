import MoltTokenizer
import Testing

/// Feeds every corpus string's ids one at a time. At every step, what came out plus what the
/// decoder holds back must be the decode of the ids so far, and what it holds back must be at
/// most one unfinished character (it flushes to a single U+FFFD).
@Test func streamingDecodeAddsUpToTheWholeDecode() throws {
    let tokenizer = try #require(Fixtures.tokenizer)
    let corpus = try #require(Fixtures.corpus)
    var cases = corpus.encode.map(\.ids) + corpus.decode.map(\.ids)
    // Byte by byte through characters of every UTF-8 length, ZWJ sequences included.
    let byteIDs = (0..<256).compactMap { tokenizer.id(of: byteSpelling(UInt8($0))) }
    #expect(byteIDs.count == 256)
    cases.append("aé日😀👩‍👩‍👧".utf8.map { byteIDs[Int($0)] })
    for ids in cases {
        let whole = tokenizer.decode(ids)
        var decoder = tokenizer.streamingDecoder()
        var emitted = ""
        for (k, id) in ids.enumerated() {
            let piece = decoder.feed(id)
            emitted += piece
            var copy = decoder
            let held = copy.flush()
            #expect(emitted + held == tokenizer.decode(Array(ids[...k])), "\(ids)")
            #expect(held == "" || held == "\u{FFFD}", "\(ids)")
            if !whole.contains("\u{FFFD}") { #expect(!piece.contains("\u{FFFD}"), "\(ids)") }
        }
        emitted += decoder.flush()
        #expect(emitted == whole, "\(ids)")
    }
}

@Test func streamingDecodeHoldsBackOnlyUnfinishedCharacters() throws {
    let tokenizer = try #require(Fixtures.tokenizer)
    func id(_ byte: UInt8) throws -> Int { try #require(tokenizer.id(of: byteSpelling(byte))) }
    var decoder = tokenizer.streamingDecoder()
    #expect(decoder.feed(try id(0xF0)) == "")
    #expect(decoder.feed(try id(0x9F)) == "")
    #expect(decoder.feed(try id(0x98)) == "")
    #expect(decoder.feed(try id(0x80)) == "😀")
    // A lead byte whose next byte cannot follow it is an error at once, not something to wait for.
    #expect(decoder.feed(try id(0xE0)) == "")
    #expect(decoder.feed(try id(0x80)) == "\u{FFFD}\u{FFFD}")
    #expect(decoder.feed(try id(0xC3)) == "")
    #expect(decoder.flush() == "\u{FFFD}")
    #expect(decoder.flush() == "")
}

@Test func streamingDecodeCanSkipSpecialTokens() throws {
    let tokenizer = try #require(Fixtures.tokenizer)
    var decoder = tokenizer.streamingDecoder(skipSpecialTokens: true)
    var text = ""
    for id in tokenizer.encode("a<|endoftext|>b<|padding|>") { text += decoder.feed(id) }
    #expect(text + decoder.flush() == "ab")
}

/// The vocabulary spelling of a single byte (GPT-2's byte-to-unicode table).
func byteSpelling(_ byte: UInt8) -> String {
    let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
    if printable { return String(Unicode.Scalar(byte)) }
    let shifted = (0..<Int(byte)).filter { b in !((0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)) }.count
    return String(Unicode.Scalar(UInt32(256 + shifted))!)
}
