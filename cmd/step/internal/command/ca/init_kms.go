package ca

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/authority/config"
	"github.com/mayfly-pki/mayfly/ca/pki"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/kmsutil"
	"github.com/mayfly-pki/mayfly/kms"
)

// Default key names step ca init --kms creates in a PKCS #11 token.
const (
	defaultPKCS11Root         = "pkcs11:id=7330;object=root-ca"
	defaultPKCS11Intermediate = "pkcs11:id=7331;object=intermediate-ca"
)

func initKMSFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "kms", Usage: "The `uri` of the key manager to create the CA keys in (pkcs11:module-path=...;token=...?pin-source=...); ca.json gets its kms block and the intermediate's key URI."},
		&cli.StringFlag{Name: "kms-root", Usage: "The key `name` of the root key in --kms (default " + defaultPKCS11Root + ")."},
		&cli.StringFlag{Name: "kms-intermediate", Usage: "The key `name` of the intermediate key in --kms (default " + defaultPKCS11Intermediate + ")."},
	}
}

// initKMS opens --kms and sets o.KMS; the returned close func is never nil.
func initKMS(c *cli.Context, o *pki.Options) (func(), error) {
	uri := c.String("kms")
	if uri == "" {
		for _, f := range []string{"kms-root", "kms-intermediate"} {
			if c.String(f) != "" {
				return func() {}, fmt.Errorf("flag '--%s' requires the '--kms' flag", f)
			}
		}
		return func() {}, nil
	}
	if c.String("root") != "" && c.String("key") != "" {
		return func() {}, fmt.Errorf("flag '--kms' is incompatible with '--root' and '--key'")
	}
	typ := kms.Scheme(uri)
	if typ != "pkcs11" {
		return func() {}, fmt.Errorf("flag '--kms': only pkcs11: URIs are supported by step ca init (create other keys with step kms create)")
	}
	root, inter := c.String("kms-root"), c.String("kms-intermediate")
	if root == "" {
		root = defaultPKCS11Root
	}
	if inter == "" {
		inter = defaultPKCS11Intermediate
	}
	km, err := kmsutil.Open(c.Context, uri)
	if err != nil {
		return func() {}, err
	}
	o.KMS = &pki.KMSKeys{Manager: km, Block: config.KMS{Type: typ, URI: uri}, Root: root, Intermediate: inter}
	return func() { _ = km.Close() }, nil
}
