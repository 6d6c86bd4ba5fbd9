package ca

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/ca/client"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
	"github.com/mayfly-pki/mayfly/internal/steppath"
)

// requestTimeout bounds one CLI command's calls to the CA.
const requestTimeout = 60 * time.Second

// rootFile returns --root, or $(step path)/certs/root_ca.crt.
func rootFile(c *cli.Context) (string, error) {
	if r := c.String("root"); r != "" {
		return r, nil
	}
	return steppath.RootFile()
}

// readRoots reads the root certificates trusted for the CA's TLS.
func readRoots(c *cli.Context) ([]*x509.Certificate, error) {
	path, err := rootFile(c)
	if err != nil {
		return nil, err
	}
	certs, err := pemutil.ReadCertificates(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("the root certificate %s does not exist: use --root or run `step ca bootstrap`", path)
		}
		return nil, err
	}
	return certs, nil
}

// newClient returns a client for --ca-url trusting --root.
func newClient(c *cli.Context) (*client.Client, []*x509.Certificate, error) {
	if c.String("ca-url") == "" {
		return nil, nil, fmt.Errorf("flag '--ca-url' is required: use --ca-url or run `step ca bootstrap`")
	}
	roots, err := readRoots(c)
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	for _, r := range roots {
		pool.AddCert(r)
	}
	cl, err := client.New(c.String("ca-url"), pool)
	if err != nil {
		return nil, nil, err
	}
	return cl, roots, nil
}

func timeoutCtx(c *cli.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Context, requestTimeout)
}
