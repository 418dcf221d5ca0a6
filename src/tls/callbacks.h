#pragma once
// OpenSSL callbacks that the contexts install and that work on a Session (session.cc). Private
// to src/tls/.

#include <openssl/ssl.h>

namespace pamproxy::tls::detail {

// SNI: checks the name against the session's expected host, picks or mints the leaf.
int servername_cb(SSL* ssl, int* alert, void* arg);
// ALPN: http/1.1 when offered; otherwise no ALPN (the client falls back or gives up).
int alpn_select_cb(SSL* ssl, const unsigned char** out, unsigned char* outlen,
                   const unsigned char* in, unsigned int inlen, void* arg);
// Client: a new session (TLS 1.2 handshake or TLS 1.3 ticket) goes to the per-host cache.
int new_session_cb(SSL* ssl, SSL_SESSION* session);
// Handshake secrets, recorded for kTLS when the context captures them.
void keylog_cb(const SSL* ssl, const char* line);

// The BIO method that reads the caller's ciphertext span and writes into the caller's output
// span (one per process, made on first use, thread-safe).
BIO_METHOD* span_bio_method();

}  // namespace pamproxy::tls::detail
