// A TLS client on Go's crypto/tls for test_tls_interop.py, standard library only:
//
//	go build -o tls-interop-client tls_interop_client.go
//	tls-interop-client 127.0.0.1:PORT localhost ca.pem request.bin > response.bin
//
// It connects to the address, verifies the server's certificate for the name against the CA
// file, sends the bytes of the request file, and writes everything the server sends to stdout
// until the server ends the session. The exit status is 0 only when that end was a close_notify;
// the negotiated version and suite go to stderr as "version=... cipher=...".
package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
)

// crypto/tls answers io.EOF to Read both after a close_notify and when the TCP connection ends
// between records without one. Only the second reads the socket to its end: a close_notify is
// the last thing crypto/tls reads, whole, so the socket's EOF is never asked for.
type eofWatch struct {
	net.Conn
	sawEOF bool
}

func (w *eofWatch) Read(b []byte) (int, error) {
	n, err := w.Conn.Read(b)
	if errors.Is(err, io.EOF) {
		w.sawEOF = true
	}
	return n, err
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

func versionName(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLSv1.3"
	case tls.VersionTLS12:
		return "TLSv1.2"
	}
	return fmt.Sprintf("0x%04x", v)
}

func main() {
	if len(os.Args) != 5 {
		fail("usage: %s ADDRESS NAME CA_FILE REQUEST_FILE", os.Args[0])
	}
	address, name, caFile, requestFile := os.Args[1], os.Args[2], os.Args[3], os.Args[4]
	caPem, err := os.ReadFile(caFile)
	if err != nil {
		fail("%v", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPem) {
		fail("no certificate in %s", caFile)
	}
	request, err := os.ReadFile(requestFile)
	if err != nil {
		fail("%v", err)
	}
	raw, err := net.Dial("tcp", address)
	if err != nil {
		fail("connect: %v", err)
	}
	watch := &eofWatch{Conn: raw}
	conn := tls.Client(watch, &tls.Config{RootCAs: roots, ServerName: name})
	defer conn.Close()
	if err := conn.Handshake(); err != nil {
		fail("handshake: %v", err)
	}
	state := conn.ConnectionState()
	fmt.Fprintf(os.Stderr, "version=%s cipher=%s\n", versionName(state.Version),
		tls.CipherSuiteName(state.CipherSuite))
	// The request is sent while the answer is read, so neither side's buffers have to hold
	// the whole of it.
	sent := make(chan error, 1)
	go func() {
		_, err := conn.Write(request)
		sent <- err
	}()
	if _, err := io.Copy(os.Stdout, conn); err != nil {
		fail("read: %v", err)
	}
	if err := <-sent; err != nil {
		fail("write: %v", err)
	}
	if watch.sawEOF {
		fail("the server closed the connection without close_notify")
	}
}
