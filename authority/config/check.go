package config

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/mayfly-pki/mayfly/internal/pemutil"
	"github.com/mayfly-pki/mayfly/internal/steppath"
	"github.com/mayfly-pki/mayfly/provisioner"
	"github.com/mayfly-pki/mayfly/templates"
)

// CheckOptions are the passwords Check may use to decrypt keys. Without a
// password an encrypted key only has to be a PEM private key.
type CheckOptions struct {
	// Password decrypts the intermediate key ("key"); when nil, ca.json's
	// "password" is used if set.
	Password []byte
	// SSHHostPassword and SSHUserPassword decrypt ssh.hostKey and
	// ssh.userKey.
	SSHHostPassword []byte
	SSHUserPassword []byte
}

// Check is `step-ca --validate-config`: it reads the ca.json at path and
// reports every problem in one *ValidationError, each with its JSON path:
// type errors, what Validate finds, unknown provisioner types and unknown
// keys (which step-ca only logs at start), and the files the configuration
// names that are missing or do not parse: root, federatedRoots, crt, key,
// ssh.hostKey, ssh.userKey, the templates.ssh templates and the provisioner
// template files. Keys held by a KMS and the database's files are not
// checked. It returns the read error or *SyntaxError alone when the file
// cannot be read or is not JSON, and nil when everything is fine.
func Check(path string, opts CheckOptions) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read CA configuration: %w", err)
	}
	c, problems, err := decodeAll(data, path)
	if err != nil {
		return err
	}
	failed := make([]string, 0, len(problems))
	for _, p := range problems {
		failed = append(failed, p.Path)
	}
	c.Defaults()
	k := new(checker)
	var ve *ValidationError
	if err := c.Validate(); errors.As(err, &ve) {
		k.problems = ve.Problems
	} else if err != nil {
		return err
	}
	checkProvisionerTypes(k, c.Authority)
	if opts.Password == nil && c.Password != "" {
		opts.Password = []byte(c.Password)
	}
	c.checkFiles(k, opts)
	for _, p := range k.problems {
		if !underAny(p.Path, failed) {
			problems = append(problems, p)
		}
	}
	for _, key := range c.UnknownKeys {
		problems = append(problems, Problem{Path: key, Message: "unknown key (step-ca ignores it)"})
	}
	if len(problems) == 0 {
		return nil
	}
	return &ValidationError{File: path, Problems: problems}
}

// underAny reports whether path is one of roots or lies under one of them:
// a value that failed to decode is left zero, and what Validate says of it
// would only repeat the type error.
func underAny(path string, roots []string) bool {
	for _, r := range roots {
		if r == "" || path == r || strings.HasPrefix(path, r+".") || strings.HasPrefix(path, r+"[") {
			return true
		}
	}
	return false
}

// checkProvisionerTypes reports provisioner entries whose type step-ca does
// not know: step-ca skips them, so a typo silently disables a provisioner.
func checkProvisionerTypes(k *checker, a *Authority) {
	if a == nil {
		return
	}
	for i, raw := range a.Provisioners {
		obj, ok := provisionerObject(raw)
		if !ok {
			continue
		}
		typ, err := headerField(obj, "type")
		if err != nil {
			continue // Validate reported it
		}
		if _, ok := provisioner.ParseType(typ); !ok {
			k.add(fmt.Sprintf("authority.provisioners[%d].type", i), "%s", UnknownProvisionerType(typ))
		}
	}
}

// UnknownProvisionerType is the reason a provisioner entry of type typ is
// disabled: `unknown provisioner type "JWKK" (want JWK, OIDC, ...)`.
func UnknownProvisionerType(typ string) string {
	names := make([]string, 0, provisioner.TypeNebula)
	for t := provisioner.TypeJWK; t <= provisioner.TypeNebula; t++ {
		names = append(names, t.String())
	}
	return fmt.Sprintf("unknown provisioner type %q (want %s)", typ, strings.Join(names, ", "))
}

// checkFiles reports the files the configuration names that cannot be read
// or do not hold what they should. Empty names are Validate's business.
func (c *Config) checkFiles(k *checker, opts CheckOptions) {
	if len(c.Root) == 1 {
		checkCertFile(k, "root", c.Root[0])
	} else {
		for i, r := range c.Root {
			checkCertFile(k, fmt.Sprintf("root[%d]", i), r)
		}
	}
	for i, r := range c.FederatedRoots {
		checkCertFile(k, fmt.Sprintf("federatedRoots[%d]", i), r)
	}
	chain := checkCertFile(k, "crt", c.IntermediateCert)
	var leaf *x509.Certificate
	if len(chain) > 0 {
		leaf = chain[0]
	}
	if !c.keysInKMS() {
		checkKeyFile(k, "key", c.IntermediateKey, opts.Password, leaf)
		if c.SSH != nil {
			checkKeyFile(k, "ssh.hostKey", c.SSH.HostKey, opts.SSHHostPassword, nil)
			checkKeyFile(k, "ssh.userKey", c.SSH.UserKey, opts.SSHUserPassword, nil)
		}
	}
	if t := c.Templates; t != nil && t.SSH != nil {
		for i := range t.SSH.User {
			checkSSHTemplate(k, fmt.Sprintf("templates.ssh.user[%d].template", i), &t.SSH.User[i])
		}
		for i := range t.SSH.Host {
			checkSSHTemplate(k, fmt.Sprintf("templates.ssh.host[%d].template", i), &t.SSH.Host[i])
		}
	}
}

// keysInKMS reports whether the CA keys live in a KMS other than files.
func (c *Config) keysInKMS() bool {
	if c.KMS == nil {
		return false
	}
	switch strings.ToLower(c.KMS.Type) {
	case "", "softkms":
		return false
	}
	return true
}

// checkCertFile reads a PEM certificate file and returns its certificates
// (nil after a problem).
func checkCertFile(k *checker, path, name string) []*x509.Certificate {
	if name == "" {
		return nil
	}
	data, err := os.ReadFile(name)
	if err != nil {
		k.add(path, "%s", readProblem(name, err))
		return nil
	}
	certs, err := pemutil.ParseCertificates(data)
	if err != nil {
		k.add(path, "%s does not hold a certificate: %v", name, err)
		return nil
	}
	return certs
}

// checkKeyFile reads a private key file. An encrypted key is decrypted when
// password is set, else only recognised as an encrypted private key. A key
// that could be read must match cert's public key when cert is set. Names
// with a URI scheme ("pkcs11:...", "awskms:...") are KMS keys: not checked.
func checkKeyFile(k *checker, path, name string, password []byte, cert *x509.Certificate) {
	if name == "" || isKeyURI(name) {
		return
	}
	data, err := os.ReadFile(name)
	if err != nil {
		k.add(path, "%s", readProblem(name, err))
		return
	}
	key, err := pemutil.ParsePrivateKey(data, password)
	switch {
	case errors.Is(err, pemutil.ErrPasswordRequired):
	case errors.Is(err, pemutil.ErrBadPassword):
		k.add(path, "cannot decrypt %s: the password is incorrect", name)
	case err != nil:
		k.add(path, "%s is not a private key: %v", name, err)
	case cert != nil:
		if pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(cert.PublicKey) {
			k.add(path, "%s is not the key of the certificate in crt", name)
		}
	}
}

// isKeyURI reports whether name starts with a URI scheme of two characters
// or more (RFC 3986 §3.1), which a file name rarely does ("C:" is a drive).
func isKeyURI(name string) bool {
	scheme, _, ok := strings.Cut(name, ":")
	if !ok || len(scheme) < 2 {
		return false
	}
	for i, r := range scheme {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || !(r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.')) {
			return false
		}
	}
	return true
}

// checkSSHTemplate reads and parses a `step ssh config` template file
// (relative names are under $STEPPATH, as step-ca resolves them).
func checkSSHTemplate(k *checker, path string, t *Template) {
	switch t.Type {
	case "snippet", "file", "prepend-line":
	default:
		return
	}
	if t.TemplatePath == "" {
		return
	}
	name := t.TemplatePath
	if !filepath.IsAbs(name) {
		base, err := steppath.Path()
		if err != nil {
			k.add(path, "cannot resolve the relative path %q: %v", name, err)
			return
		}
		name = filepath.Join(base, name)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		k.add(path, "%s", readProblem(name, err))
		return
	}
	if _, err := template.New(filepath.Base(name)).Funcs(templates.FuncMap()).Parse(string(data)); err != nil {
		k.add(path, "%s: %v", name, err)
	}
}

// readProblem words a file read error once naming the file.
func readProblem(name string, err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Sprintf("cannot read %s: %v", name, err)
}
