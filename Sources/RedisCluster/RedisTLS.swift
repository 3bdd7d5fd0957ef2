import COpenSSL
import Glibc

/// TLS to the cluster's nodes (Redis's `tls-port`, `tls-cluster yes`): the server's certificate
/// is always verified — against `caFile`, or the system's store when it is nil — and its name
/// must be the node's address (an IP address as `CLUSTER SLOTS` gives it, or a host name), or
/// `serverName` when set. TLS 1.2 or later.
public struct RedisTLSConfiguration: Sendable, Equatable {
    /// PEM file of the certificate authorities that sign the nodes' certificates; nil: the
    /// system's (`/etc/ssl/certs`).
    public var caFile: String?
    /// PEM client certificate (chain) and its private key, for a cluster that authenticates
    /// clients (`tls-auth-clients yes`); both or neither.
    public var certificateFile: String?
    public var keyFile: String?
    /// The name every node's certificate must carry (and the SNI sent), when the nodes are
    /// reached by addresses their certificates do not name; nil: each node's own address.
    public var serverName: String?

    public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil, serverName: String? = nil) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.serverName = serverName
    }
}

/// An OpenSSL client context built once from a ``RedisTLSConfiguration`` and shared by every
/// connection of a ``RedisCluster`` (OpenSSL's contexts are thread-safe once set up).
final class TLSContext: @unchecked Sendable {
    private let context: OpaquePointer
    let configuration: RedisTLSConfiguration

    /// Loads the authorities and the client certificate; throws ``RedisError/tls(endpoint:reason:)``
    /// naming the file that cannot be used. Ignores SIGPIPE in the process when it is not
    /// handled already: OpenSSL writes to the socket with `write`, which would raise it on a
    /// connection the node closed.
    init(_ configuration: RedisTLSConfiguration) throws(RedisError) {
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw .tls(endpoint: nil, reason: Self.lastError("SSL_CTX_new")) }
        self.context = context
        self.configuration = configuration
        _ = aqk_ssl_ctx_min_tls12(context)
        _ = aqk_ssl_ctx_no_renegotiation(context)
        _ = aqk_ssl_ctx_partial_writes(context)
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        if let caFile = configuration.caFile {
            guard SSL_CTX_load_verify_locations(context, caFile, nil) == 1 else {
                throw .tls(endpoint: nil, reason: Self.lastError("CA file \(caFile)"))
            }
        } else if SSL_CTX_set_default_verify_paths(context) != 1 {
            throw .tls(endpoint: nil, reason: Self.lastError("the system's certificate store"))
        }
        switch (configuration.certificateFile, configuration.keyFile) {
        case (nil, nil): aqk_ssl_ctx_note_certificate_requests(context)
        case (let certificate?, let key?):
            guard SSL_CTX_use_certificate_chain_file(context, certificate) == 1 else {
                throw .tls(endpoint: nil, reason: Self.lastError("client certificate \(certificate)"))
            }
            guard SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) == 1, SSL_CTX_check_private_key(context) == 1 else {
                throw .tls(endpoint: nil, reason: Self.lastError("client key \(key)"))
            }
        default:
            throw .tls(endpoint: nil, reason: "a client certificate needs its key file and a key file its certificate")
        }
        var current = sigaction()
        if sigaction(SIGPIPE, nil, &current) == 0, current.__sigaction_handler.sa_handler == nil {
            signal(SIGPIPE, SIG_IGN)
        }
    }

    deinit { SSL_CTX_free(context) }

    /// A TLS session over connected socket `descriptor` to `endpoint`, checking the name
    /// ``RedisTLSConfiguration/serverName`` or the endpoint's host; not yet handshaken.
    func session(descriptor: Int32, endpoint: RedisEndpoint) throws(RedisError) -> TLSSession {
        guard let ssl = SSL_new(context) else { throw .tls(endpoint: endpoint, reason: Self.lastError("SSL_new")) }
        let name = configuration.serverName ?? endpoint.host
        let isAddress = Self.isIPAddress(name)
        let named = isAddress
            ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) == 1
            : SSL_set1_host(ssl, name) == 1 && aqk_ssl_set_sni(ssl, name) == 1
        guard named, SSL_set_fd(ssl, descriptor) == 1 else {
            SSL_free(ssl)
            throw .tls(endpoint: endpoint, reason: Self.lastError("setting up the session for \(name)"))
        }
        return TLSSession(ssl: ssl, endpoint: endpoint)
    }

    static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    /// `what` and the oldest error in this thread's OpenSSL error queue (which is emptied).
    static func lastError(_ what: String) -> String {
        let code = ERR_get_error()
        defer { ERR_clear_error() }
        guard code != 0 else { return "\(what) failed" }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return "\(what): \(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))"
    }
}

/// What one non-blocking read or write on a connection's transport did.
enum TransportResult {
    /// This many bytes moved (> 0).
    case transferred(Int)
    /// Nothing moved: the socket must become readable (or writable) first.
    case wantRead
    case wantWrite
    /// The peer closed the connection.
    case closed
}

/// One TLS session of a ``RedisConnection`` (one thread at a time, as the connection).
final class TLSSession {
    private let ssl: OpaquePointer
    private let endpoint: RedisEndpoint
    /// Whether a reply's bytes have come in on this session.
    private var received = false

    fileprivate init(ssl: OpaquePointer, endpoint: RedisEndpoint) {
        self.ssl = ssl
        self.endpoint = endpoint
    }

    deinit { SSL_free(ssl) }

    /// One step of the client handshake: nil when it is done, else what the socket must
    /// become first. Throws ``RedisError/tls(endpoint:reason:)`` for a certificate or protocol
    /// failure (another attempt would fail alike) and ``RedisError/connectFailed(endpoint:reason:)``
    /// when the node closed the connection during it.
    func handshake() throws(RedisError) -> TransportResult? {
        ERR_clear_error()
        let status = SSL_connect(ssl)
        if status == 1 { return nil }
        switch try outcome(status) {
        case .closed: throw .connectFailed(endpoint: endpoint, reason: "closed during the TLS handshake")
        case let other: return other
        }
    }

    func write(_ bytes: UnsafeRawPointer, count: Int) throws(RedisError) -> TransportResult {
        ERR_clear_error()
        return try outcome(SSL_write(ssl, bytes, Int32(clamping: count)))
    }

    func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(RedisError) -> TransportResult {
        ERR_clear_error()
        let result = try outcome(SSL_read(ssl, buffer, Int32(clamping: count)))
        if case .transferred = result { received = true }
        return result
    }

    private func outcome(_ status: Int32) throws(RedisError) -> TransportResult {
        if status > 0 { return .transferred(Int(status)) }
        let error = SSL_get_error(ssl, status)
        switch error {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_ZERO_RETURN:
            try refusedForWantOfACertificate()
            return .closed
        case SSL_ERROR_SYSCALL:
            let code = errno
            ERR_clear_error()
            try refusedForWantOfACertificate()
            if status == 0 || code == 0 { return .closed }
            throw .connectionLost(endpoint: endpoint, reason: "TLS: \(String(cString: strerror(code)))")
        default:
            let verification = SSL_get_verify_result(ssl)
            if verification != X509_V_OK {
                ERR_clear_error()
                throw .tls(endpoint: endpoint, reason: "certificate verification failed: \(String(cString: X509_verify_cert_error_string(verification)))")
            }
            throw .tls(endpoint: endpoint, reason: TLSContext.lastError("TLS"))
        }
    }

    /// A node that asked for a client certificate, got none and closed the connection before
    /// any reply refused the client (TLS 1.3 sends that refusal after the client's handshake, and
    /// the reset caused by the client's unread first command can drop it): a TLS error, not a
    /// lost connection to retry.
    private func refusedForWantOfACertificate() throws(RedisError) {
        guard !received, aqk_ssl_certificate_requested_without_one(ssl) != 0 else { return }
        throw .tls(endpoint: endpoint, reason: "certificate required: the node asked for a client certificate, none is configured, and it closed the connection")
    }
}
