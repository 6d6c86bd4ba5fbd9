package certificate

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
)

// dialTimeout bounds connecting and the TLS handshake to a remote server.
const dialTimeout = 15 * time.Second

// input is what a certificate command read: certificates or one CSR.
type input struct {
	certs []*x509.Certificate
	csr   *x509.CertificateRequest
}

// readCertsOrCSR reads PEM or DER certificates from a file (or stdin for "-"),
// falling back to a CSR when allowCSR. Errors name the file.
func readCertsOrCSR(file string, allowCSR bool) (*input, error) {
	data, err := ui.ReadInput(file)
	if err != nil {
		return nil, err
	}
	return parseCertsOrCSR(file, data, allowCSR)
}

func parseCertsOrCSR(name string, data []byte, allowCSR bool) (*input, error) {
	if certs, err := pemutil.ParseCertificates(data); err == nil && len(certs) > 0 {
		return &input{certs: certs}, nil
	}
	if allowCSR {
		if csr, err := pemutil.ParseCSR(data); err == nil {
			return &input{csr: csr}, nil
		}
		return nil, fmt.Errorf("%s does not contain a valid certificate or certificate request", displayName(name))
	}
	return nil, fmt.Errorf("%s does not contain a valid certificate", displayName(name))
}

// readCerts reads the certificates of a file; errors name the file.
func readCerts(file string) ([]*x509.Certificate, error) {
	in, err := readCertsOrCSR(file, false)
	if err != nil {
		return nil, err
	}
	return in.certs, nil
}

func displayName(file string) string {
	if file == "" || file == "-" {
		return "standard input"
	}
	return file
}

// remoteAddress reports whether ref names a remote server rather than a file,
// and returns its host:port (port 443 by default). Like step it accepts
// https://, tcp:// and tls:// URLs; as an extension, a "host:port" with a numeric
// port names a server when no file of that name exists.
func remoteAddress(ref string) (string, bool, error) {
	if _, err := os.Stat(ref); err == nil {
		return "", false, nil
	}
	lower := strings.ToLower(ref)
	for _, prefix := range []string{"https://", "tcp://", "tls://"} {
		if !strings.HasPrefix(lower, prefix) {
			continue
		}
		u, err := url.Parse(ref)
		if err != nil || u.Host == "" {
			return "", false, fmt.Errorf("error parsing URL '%s'", ref)
		}
		port := u.Port()
		if port == "" {
			port = "443"
		}
		return net.JoinHostPort(u.Hostname(), port), true, nil
	}
	if strings.Contains(ref, "://") {
		return "", false, fmt.Errorf("unsupported URL scheme in '%s': use https://, tcp:// or tls://", ref)
	}
	host, port, err := net.SplitHostPort(ref)
	if err != nil || host == "" {
		return "", false, nil
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", false, nil
	}
	return ref, true, nil
}

// fetchPeerCertificates connects to addr with TLS and returns the server's chain.
// Unless insecure, the chain must verify against roots (system roots when nil).
func fetchPeerCertificates(addr, serverName string, roots *x509.CertPool, insecure bool) ([]*x509.Certificate, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("invalid address %s: %w", addr, err)
	}
	if serverName == "" {
		serverName = host
	}
	d := &tls.Dialer{
		NetDialer: &net.Dialer{Timeout: dialTimeout},
		Config: &tls.Config{
			ServerName:         serverName,
			RootCAs:            roots,
			InsecureSkipVerify: insecure, //nolint:gosec // explicit --insecure
			MinVersion:         tls.VersionTLS12,
		},
	}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("failed to connect to %s: %w", addr, err)
	}
	defer conn.Close()
	tc, ok := conn.(*tls.Conn)
	if !ok {
		return nil, fmt.Errorf("failed to connect to %s: not a TLS connection", addr)
	}
	certs := tc.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s did not send a certificate", addr)
	}
	return certs, nil
}

// loadRoots reads --roots: a comma-separated list of PEM files, or a directory
// whose files are all read. It returns nil for an empty spec (system roots).
func loadRoots(spec string) (*x509.CertPool, error) {
	if spec == "" {
		return nil, nil
	}
	pool := x509.NewCertPool()
	var files []string
	for _, p := range strings.Split(spec, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("reading roots %s: %w", p, errors.Unwrap(err))
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("reading roots directory %s: %w", p, err)
		}
		for _, e := range entries {
			if !e.IsDir() {
				files = append(files, filepath.Join(p, e.Name()))
			}
		}
	}
	n := 0
	for _, f := range files {
		certs, err := readCerts(f)
		if err != nil {
			return nil, fmt.Errorf("reading roots: %w", err)
		}
		for _, c := range certs {
			pool.AddCert(c)
			n++
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("no certificates found in roots %s", spec)
	}
	return pool, nil
}
