/// The server's side of the handshake as a pure function, so every server (and test) applies
/// the same rules (docs/PROTOCOL.md §4).
public enum ServerHandshake {
    /// Answers a client's `hello`.
    ///
    /// - Parameters:
    ///   - hello: the decoded `hello` (magic already checked by the decoder).
    ///   - maxFrameBytes: the largest frame the server accepts.
    ///   - maxBlocksPerRequest: the server's block limit per request.
    ///   - peerUID / peerGID: the credentials the server sees for the peer.
    /// - Returns: the `helloOK` to send. After it, the server sends frames of at most
    ///   `hello.maxFrameBytes` and the client of at most the returned `maxFrameBytes`.
    /// - Throws: ``ErrorCode/unsupportedVersion`` for a version outside
    ///   ``ProtocolVersion/supported`` (the server sends it and closes).
    public static func reply(
        to hello: Hello, maxFrameBytes: UInt32, maxBlocksPerRequest: UInt32, peerUID: UInt32, peerGID: UInt32
    ) throws(ProtocolError) -> HelloOK {
        guard ProtocolVersion.supported.contains(hello.version) else {
            throw ProtocolError(
                .unsupportedVersion,
                "version \(hello.version) is not supported; this server speaks \(ProtocolVersion.supported.lowerBound)…\(ProtocolVersion.supported.upperBound)")
        }
        return HelloOK(
            version: hello.version, maxFrameBytes: maxFrameBytes, maxBlocksPerRequest: maxBlocksPerRequest,
            peerUID: peerUID, peerGID: peerGID)
    }
}
