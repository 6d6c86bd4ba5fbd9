// Command mtls-client is the client of examples/mtls-server: it bootstraps
// trust from the CA's root fingerprint, gets a client certificate with a
// one-time token, and calls the server over mutual TLS, printing its answer.
//
//	TOKEN=$(step ca token client.example.com --provisioner-password-file pw)
//	go run ./examples/mtls-client --ca-url https://ca.example.com:9000 \
//	    --fingerprint $(step certificate fingerprint root_ca.crt) \
//	    --name client.example.com --token "$TOKEN" --url https://svc.example.com:8443/
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/mayfly-pki/mayfly/ca/client"
)

func main() {
	caURL := flag.String("ca-url", "", "the CA's URL (https://host:port)")
	fingerprint := flag.String("fingerprint", "", "SHA-256 fingerprint of the CA's root certificate")
	token := flag.String("token", os.Getenv("TOKEN"), "one-time token from `step ca token NAME` (default $TOKEN)")
	name := flag.String("name", "", "the client's name (the token's subject)")
	target := flag.String("url", "", "the server's URL")
	connect := flag.String("connect", "", "dial this host:port whatever the URL's host resolves to")
	flag.Parse()
	if err := run(*caURL, *fingerprint, *token, *name, *target, *connect); err != nil {
		log.Fatal(err)
	}
}

func run(caURL, fingerprint, token, name, target, connect string) error {
	if caURL == "" || fingerprint == "" || token == "" || name == "" || target == "" {
		return errors.New("--ca-url, --fingerprint, --token, --name and --url are required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ca, _, err := client.Bootstrap(ctx, caURL, fingerprint)
	if err != nil {
		return err
	}
	id, err := ca.NewIdentity(ctx, token, client.IdentityOptions{Subject: name})
	if err != nil {
		return err
	}
	tr := &http.Transport{TLSClientConfig: id.ClientTLSConfig()}
	if connect != "" {
		d := &net.Dialer{Timeout: 10 * time.Second}
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, connect)
		}
	}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, body)
	}
	fmt.Print(string(body))
	fmt.Printf("server certificate serial %s\n", resp.TLS.PeerCertificates[0].SerialNumber)
	return nil
}
