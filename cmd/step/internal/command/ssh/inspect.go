package ssh

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/ssh"
)

func inspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "print the contents of an ssh certificate",
		UsageText: "step ssh inspect <crt-file> [--format text|json]",
		ArgsUsage: "<crt-file>",
		Flags:     []cli.Flag{flags.Format("text", "The output `format`: text or json.")},
		Action:    inspectAction,
	}
}

// certInfo is the JSON of `step ssh inspect --format json`.
type certInfo struct {
	Type            string            `json:"Type"`
	PublicKeyAlgo   string            `json:"PublicKeyAlgorithm"`
	PublicKeyID     string            `json:"PublicKeyID"`
	SigningKeyAlgo  string            `json:"SigningKeyAlgorithm"`
	SigningKeyID    string            `json:"SigningKeyID"`
	KeyID           string            `json:"KeyID"`
	Serial          string            `json:"Serial"`
	ValidAfter      time.Time         `json:"ValidAfter"`
	ValidBefore     time.Time         `json:"ValidBefore"`
	Principals      []string          `json:"Principals"`
	CriticalOptions map[string]string `json:"CriticalOptions"`
	Extensions      map[string]string `json:"Extensions"`
	SignatureAlgo   string            `json:"SignatureAlgorithm"`
}

func inspectAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 1, 1); err != nil {
		return err
	}
	path := c.Args().First()
	cert, err := readCertificate(path)
	if err != nil {
		return err
	}
	switch c.String("format") {
	case "json":
		info := certInfo{
			Type: cert.Type() + " " + ssh.CertTypeName(cert.CertType) + " certificate", PublicKeyAlgo: cert.Key.Type(),
			PublicKeyID: gossh.FingerprintSHA256(cert.Key), SigningKeyAlgo: cert.SignatureKey.Type(),
			SigningKeyID: gossh.FingerprintSHA256(cert.SignatureKey), KeyID: cert.KeyId,
			Serial: fmt.Sprint(cert.Serial), ValidAfter: ssh.Time(cert.ValidAfter).UTC(), ValidBefore: ssh.Time(cert.ValidBefore).UTC(),
			Principals: cert.ValidPrincipals, CriticalOptions: cert.CriticalOptions, Extensions: cert.Extensions,
		}
		if cert.Signature != nil {
			info.SignatureAlgo = cert.Signature.Format
		}
		b, err := json.MarshalIndent(info, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(os.Stdout, string(b))
		return err
	case "", "text":
		_, err := fmt.Fprint(os.Stdout, certText(path, cert))
		return err
	}
	return fmt.Errorf("invalid value '%s' for flag '--format'; options are text or json", c.String("format"))
}

// keyName is ssh-keygen's short name of a key type ("ECDSA", "ED25519", "RSA").
func keyName(k gossh.PublicKey) string {
	t := k.Type()
	switch {
	case strings.HasPrefix(t, "ecdsa"), strings.HasPrefix(t, "sk-ecdsa"):
		return "ECDSA"
	case strings.Contains(t, "ed25519"):
		return "ED25519"
	case strings.Contains(t, "rsa"):
		return "RSA"
	}
	return strings.ToUpper(t)
}

// certText is ssh-keygen -L's layout.
func certText(path string, c *gossh.Certificate) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:\n", path)
	fmt.Fprintf(&b, "        Type: %s %s certificate\n", c.Type(), ssh.CertTypeName(c.CertType))
	fmt.Fprintf(&b, "        Public key: %s-CERT %s\n", keyName(c.Key), gossh.FingerprintSHA256(c.Key))
	sigAlg := ""
	if c.Signature != nil {
		sigAlg = c.Signature.Format
	}
	fmt.Fprintf(&b, "        Signing CA: %s %s (using %s)\n", keyName(c.SignatureKey), gossh.FingerprintSHA256(c.SignatureKey), sigAlg)
	fmt.Fprintf(&b, "        Key ID: %q\n", c.KeyId)
	fmt.Fprintf(&b, "        Serial: %d\n", c.Serial)
	const layout = "2006-01-02T15:04:05"
	if c.ValidBefore == gossh.CertTimeInfinity && c.ValidAfter == 0 {
		b.WriteString("        Valid: forever\n")
	} else {
		fmt.Fprintf(&b, "        Valid: from %s to %s\n", ssh.Time(c.ValidAfter).Local().Format(layout), ssh.Time(c.ValidBefore).Local().Format(layout))
	}
	b.WriteString("        Principals:")
	if len(c.ValidPrincipals) == 0 {
		b.WriteString(" (none)\n")
	} else {
		b.WriteString("\n")
		for _, p := range c.ValidPrincipals {
			fmt.Fprintf(&b, "                %s\n", p)
		}
	}
	writeMap(&b, "Critical Options", c.CriticalOptions)
	writeMap(&b, "Extensions", c.Extensions)
	return b.String()
}

func writeMap(b *strings.Builder, name string, m map[string]string) {
	fmt.Fprintf(b, "        %s:", name)
	if len(m) == 0 {
		b.WriteString(" (none)\n")
		return
	}
	b.WriteString("\n")
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if m[k] == "" {
			fmt.Fprintf(b, "                %s\n", k)
		} else {
			fmt.Fprintf(b, "                %s %s\n", k, m[k])
		}
	}
}
