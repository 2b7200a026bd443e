import CCrypto

/// Streaming SHA-256 through the system's libcrypto (OpenSSL 3's EVP interface, which uses
/// the CPU's SHA extensions where present). Chosen over swift-crypto's bundled BoringSSL:
/// the same throughput here, and a first build that no longer compiles BoringSSL
/// (BENCHMARKS.md, "SHA-256: system libcrypto").
public final class SHA256Hasher {
    private let context: OpaquePointer

    public init() {
        // Allocation and initialisation of a built-in digest fail only when memory runs out.
        guard let context = EVP_MD_CTX_new(), EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else {
            fatalError("libcrypto could not start a SHA-256 digest")
        }
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        EVP_DigestUpdate(context, base, bytes.count)
    }

    /// The digest as lowercase hex; the hasher is spent afterwards.
    public func finalizeHex() -> String {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &digest, &length)
        return digest.prefix(Int(length)).hexString
    }

    public static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        let hasher = SHA256Hasher()
        hasher.update(bytes)
        return hasher.finalizeHex()
    }
}
