#pragma once
// OpenSSL 3 (Debian's libssl-dev): TLS under RedisConnection's own non-blocking sockets.
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

// Macros of the OpenSSL API that Swift cannot call, as functions.
static inline int aqk_ssl_set_sni(SSL *ssl, const char *name) { return (int)SSL_set_tlsext_host_name(ssl, name); }
static inline int aqk_ssl_ctx_min_tls12(SSL_CTX *ctx) { return (int)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION); }
static inline long aqk_ssl_ctx_no_renegotiation(SSL_CTX *ctx) { return (long)SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION); }
static inline long aqk_ssl_ctx_partial_writes(SSL_CTX *ctx) {
    return SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

// A client-certificate callback that notes on the session (its ex-data 0) that the node asked
// for a certificate while none is configured; OpenSSL calls it only then. In TLS 1.3 the node's
// refusal comes after the client's handshake is done and can be lost to the connection's reset.
static inline int aqk_note_certificate_request(SSL *ssl, X509 **certificate, EVP_PKEY **key) {
    (void)certificate; (void)key;
    SSL_set_ex_data(ssl, 0, (void *)1);
    return 0;
}
static inline void aqk_ssl_ctx_note_certificate_requests(SSL_CTX *ctx) { SSL_CTX_set_client_cert_cb(ctx, aqk_note_certificate_request); }
static inline int aqk_ssl_certificate_requested_without_one(const SSL *ssl) { return SSL_get_ex_data(ssl, 0) != NULL; }
