import CZlib
import MoltCore

/// zlib's raw inflate and CRC-32, fed in pieces because zlib counts bytes in 32 bits.
enum Inflate {
    private static let chunk = 1 << 30

    /// Inflates a raw deflate stream that must produce exactly `size` bytes and end exactly at
    /// the end of `input`, into `output` (exactly `size` bytes). `what` names the entry in errors.
    static func raw(
        _ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, what: String, file: String, offset: Int
    ) throws {
        let size = output.count
        var stream = z_stream()
        guard inflateInit2_(&stream, -15, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw MoltError(.io, "\(file): cannot start zlib inflate for \(what)")
        }
        defer { inflateEnd(&stream) }
        func fail(_ message: String) -> MoltError {
            MoltError.badInput("\(what): \(message)", file: file, offset: offset)
        }
        // One spare byte beyond `size` shows whether the stream would go on.
        var probe: UInt8 = 0
        while true {
            let consumed = Int(stream.total_in), produced = Int(stream.total_out)
            stream.next_in = input.baseAddress.map {
                UnsafeMutablePointer(mutating: ($0 + consumed).assumingMemoryBound(to: Bytef.self))
            }
            stream.avail_in = uInt(min(input.count - consumed, chunk))
            let status = withUnsafeMutablePointer(to: &probe) { probePointer -> Int32 in
                if produced < size, let base = output.baseAddress {
                    stream.next_out = (base + produced).assumingMemoryBound(to: Bytef.self)
                    stream.avail_out = uInt(min(size - produced, chunk))
                } else {
                    stream.next_out = probePointer
                    stream.avail_out = 1
                }
                return inflate(&stream, Z_NO_FLUSH)
            }
            guard Int(stream.total_out) <= size else {
                throw fail("deflate stream inflates to more than the \(size) bytes the central directory records")
            }
            switch status {
            case Z_OK:
                continue
            case Z_STREAM_END:
                guard Int(stream.total_out) == size else {
                    throw fail("deflate stream inflates to \(stream.total_out) bytes, not the \(size) the central directory records")
                }
                guard Int(stream.total_in) == input.count else {
                    throw fail("\(input.count - Int(stream.total_in)) bytes follow the end of the deflate stream")
                }
                return
            case Z_BUF_ERROR where Int(stream.total_in) == input.count:
                throw fail("deflate stream ends early after \(stream.total_out) of \(size) bytes: truncated")
            case Z_MEM_ERROR:
                throw MoltError(.io, "\(file): out of memory inflating \(what)")
            default:
                let reason = stream.msg.map { String(cString: $0) } ?? "zlib error \(status)"
                throw fail("corrupt deflate data: \(reason)")
            }
        }
    }
}
