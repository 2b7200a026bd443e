import CZstd
import MoltCore

/// One zstd frame written in pieces: the writer feeds a tensor's bytes as it produces them and
/// gets compressed bytes back, so compression keeps the writer's memory bounded.
final class ZstdFrameWriter {
    private let context: OpaquePointer
    private var output: [UInt8]

    /// `contentSize` goes into the frame header; the frame carries a content checksum too.
    init(level: Int32, contentSize: Int) throws {
        guard let context = ZSTD_createCCtx() else { throw MoltError(.io, "zstd: cannot allocate a compression context") }
        self.context = context
        output = [UInt8](repeating: 0, count: ZSTD_CStreamOutSize())
        try check(ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level))
        try check(ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1))
        try check(ZSTD_CCtx_setPledgedSrcSize(context, UInt64(contentSize)))
    }

    deinit { ZSTD_freeCCtx(context) }

    /// Compresses `bytes`; `last` ends the frame. Each piece of output goes to `emit`.
    func compress(_ bytes: UnsafeRawBufferPointer, last: Bool, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        var input = ZSTD_inBuffer(src: bytes.baseAddress, size: bytes.count, pos: 0)
        let mode = last ? ZSTD_e_end : ZSTD_e_continue
        while true {
            let (remaining, produced): (Int, Int) = try output.withUnsafeMutableBytes { out in
                var buffer = ZSTD_outBuffer(dst: out.baseAddress, size: out.count, pos: 0)
                let remaining = ZSTD_compressStream2(context, &buffer, &input, mode)
                try check(remaining)
                return (remaining, buffer.pos)
            }
            if produced > 0 { try output.withUnsafeBytes { try emit(UnsafeRawBufferPointer(rebasing: $0[0..<produced])) } }
            // Done with this piece once input is consumed and, when ending, the frame is flushed.
            if last ? remaining == 0 : input.pos == input.size { return }
        }
    }

    private func check(_ code: Int) throws {
        if ZSTD_isError(code) != 0 { throw MoltError(.io, "zstd: \(String(cString: ZSTD_getErrorName(code)))") }
    }
}

enum Zstd {
    /// Decompresses one complete frame of exactly `source.count` bytes into `expected` bytes.
    /// Throws a message (the caller adds file, entry and offset) for anything else.
    static func decompress(_ source: UnsafeRawBufferPointer, expected: Int) throws -> Storage {
        guard let base = source.baseAddress else { throw MoltError.badInput("bad zstd data: empty") }
        let frameSize = ZSTD_findFrameCompressedSize(base, source.count)
        guard ZSTD_isError(frameSize) == 0, frameSize == source.count else {
            throw MoltError.badInput("bad zstd data: not one complete frame of \(source.count) bytes")
        }
        let declared = ZSTD_getFrameContentSize(base, source.count)
        guard declared == UInt64(expected) else {
            throw MoltError.badInput("bad zstd data: frame declares \(Int64(bitPattern: declared)) bytes, the entry \(expected)")
        }
        return try Storage(byteCount: expected) { out in
            let written = ZSTD_decompress(out.baseAddress, out.count, base, source.count)
            guard ZSTD_isError(written) == 0 else {
                throw MoltError.badInput("bad zstd data: \(String(cString: ZSTD_getErrorName(written)))")
            }
            guard written == expected else {
                throw MoltError.badInput("bad zstd data: decompressed to \(written) bytes, expected \(expected)")
            }
        }
    }
}
