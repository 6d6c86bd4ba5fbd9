package ca

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/ca/pki"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/app"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/flags"
	"github.com/mayfly-pki/mayfly/cmd/step/internal/ui"
	"github.com/mayfly-pki/mayfly/internal/fileutil"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
	"github.com/mayfly-pki/mayfly/internal/steppath"
)

// InitCommand returns `step ca init`: it creates the root and intermediate
// CA, the first JWK provisioner, config/ca.json and config/defaults.json in
// $(step path) (wire-spec §1.2, §8.1). Missing values are prompted for when
// stdin is a terminal; otherwise a missing value is an error naming its flag.
func InitCommand() *cli.Command {
	return &cli.Command{
		Name:  "init",
		Usage: "initialize the CA PKI",
		UsageText: `**step ca init** [**--name**=<name>] [**--dns**=<dns>] [**--address**=<address>]
[**--provisioner**=<name>] [**--password-file**=<file>] [**--provisioner-password-file**=<file>]
[**--kty**=<kty>] [**--curve**=<curve>] [**--size**=<size>] [**--root**=<file> **--key**=<file>
[**--key-password-file**=<file>]] [**--with-ca-url**=<uri>] [**--pki**] [**--no-db**] [**--force**]`,
		Description: `**step ca init** command initializes a public key infrastructure (PKI) to be
used by the Certificate Authority: a root and an intermediate certificate with their
encrypted private keys, a JWK provisioner, and the configuration files
config/ca.json and config/defaults.json, all under $(step path).

## EXAMPLES

Non-interactive initialization:
'''
$ step ca init --name "Smallstep" --dns ca.internal --address :443 \
  --provisioner admin --password-file password.txt
'''

Use an existing root certificate and key:
'''
$ step ca init --root root_ca.crt --key root_ca_key --key-password-file root.pass ...
'''`,
		Flags:  initFlags(),
		Action: initAction,
	}
}

// initUnsupportedBools and initUnsupportedStrings name step ca init flags
// that Mayfly accepts only to reject them with a clear message.
func initUnsupportedBools() []string { return []string{"helm"} }

func initUnsupportedStrings() []string { return []string{"ra", "authority", "profile"} }

func initFlags() []cli.Flag {
	fs := []cli.Flag{
		&cli.StringFlag{Name: "name", Usage: "The `name` of the new PKI."},
		&cli.StringSliceFlag{Name: "dns", Usage: "The DNS `name` or IP address of the new CA. Use the flag multiple times (or a comma separated list) for several; the first is used in the CA URL."},
		&cli.StringFlag{Name: "address", Usage: "The `address` that the new CA will listen at, e.g. :443 or 127.0.0.1:9000."},
		&cli.StringFlag{Name: "provisioner", Usage: "The `name` of the first provisioner."},
		flags.PasswordFile("The path to the `file` containing the password to encrypt the keys (and the provisioner key, without --provisioner-password-file)."),
		flags.ProvisionerPasswordFile(),
		&cli.StringFlag{Name: "deployment-type", Value: pki.DeploymentStandalone, Usage: "The `name` of the deployment type: only standalone is supported."},
	}
	fs = append(fs, flags.KeyFlags()...)
	fs = append(fs,
		&cli.StringFlag{Name: "root", Usage: "The path of an existing PEM `file` to be used as the root certificate authority (needs --key)."},
		&cli.StringFlag{Name: "key", Usage: "The path of an existing key `file` of the root certificate authority."},
		&cli.StringFlag{Name: "key-password-file", Usage: "The path to the `file` containing the password to decrypt the existing root key."},
		&cli.StringFlag{Name: "with-ca-url", Usage: "`URI` of the Step Certificate Authority to write in defaults.json."},
		&cli.BoolFlag{Name: "pki", Usage: "Generate only the PKI (certificates and keys), without the CA configuration."},
		&cli.BoolFlag{Name: "no-db", Usage: "Generate a CA configuration without the DB stanza. No persistence layer."},
		&cli.BoolFlag{Name: "ssh", Usage: "Create keys to sign SSH certificates, the SSHPOP provisioner and the `step ssh config` templates."},
		&cli.BoolFlag{Name: "acme", Usage: "Create an ACME provisioner named acme (step-ca's defaults: http-01, dns-01, tls-alpn-01)."},
		&cli.BoolFlag{Name: "remote-management", Usage: "Enable remote management: ca.json gets authority.enableAdmin and no provisioners; the first provisioner and a super admin are stored in the database."},
		&cli.StringFlag{Name: "admin-subject", Aliases: []string{"admin-name"}, Value: "step", Usage: "The admin `subject` of the first super admin (with --remote-management)."},
		flags.Context(),
		flags.Force(),
	)
	fs = append(fs, initKMSFlags()...)
	for _, n := range initUnsupportedBools() {
		fs = append(fs, &cli.BoolFlag{Name: n, Usage: "Not supported yet."})
	}
	for _, n := range initUnsupportedStrings() {
		fs = append(fs, &cli.StringFlag{Name: n, Usage: "Not supported yet."})
	}
	return fs
}

func initAction(c *cli.Context) error {
	if err := app.CheckArgs(c, 0, 0); err != nil {
		return err
	}
	for _, n := range initUnsupportedBools() {
		if c.Bool(n) {
			return fmt.Errorf("--%s is not supported yet", n)
		}
	}
	for _, n := range initUnsupportedStrings() {
		if c.String(n) != "" {
			return fmt.Errorf("--%s is not supported yet", n)
		}
	}
	if err := pki.CheckDeploymentType(c.String("deployment-type")); err != nil {
		return initUserError(err)
	}
	kty, crv, size, err := flags.KeyParams(c)
	if err != nil {
		return err
	}
	stepPath, err := steppath.Path()
	if err != nil {
		return err
	}
	out := c.App.ErrWriter
	if out == nil {
		out = os.Stderr
	}
	p := newInitPrompter(out)

	o := pki.Options{
		Name:             c.String("name"),
		WithCAURL:        c.String("with-ca-url"),
		NoDB:             c.Bool("no-db"),
		RemoteManagement: c.Bool("remote-management"),
		ACME:             c.Bool("acme"),
		PKIOnly:          c.Bool("pki"),
		SSH:              c.Bool("ssh"),
		DeploymentType:   c.String("deployment-type"),
		Force:            c.Bool("force"),
		Kty:              kty,
		Curve:            crv,
		Size:             size,
		Progress:         out,
	}
	if err := initRootFlags(c, p, pki.NewLayout(stepPath), &o); err != nil {
		return err
	}
	closeKMS, err := initKMS(c, &o)
	defer closeKMS()
	if err != nil {
		return err
	}
	if o.Name == "" {
		if o.Name, err = p.line("name", "What would you like to name your new PKI?", "(e.g. Smallstep)", ""); err != nil {
			return err
		}
	}
	if !o.PKIOnly {
		o.DNSNames = initSplitDNS(c.StringSlice("dns"))
		if len(o.DNSNames) == 0 {
			v, err := p.line("dns", "What DNS names or IP addresses will clients use to reach your CA?", "(e.g. ca.example.com[,10.1.2.3,etc.])", "")
			if err != nil {
				return err
			}
			o.DNSNames = initSplitDNS([]string{v})
		}
		if o.Address = c.String("address"); o.Address == "" {
			if o.Address, err = p.line("address", "What IP and port will your new CA bind to? (:443 will bind to 443 on all interfaces)", "(e.g. :443 or 127.0.0.1:443)", ":443"); err != nil {
				return err
			}
		}
		if o.ProvisionerName = c.String("provisioner"); o.ProvisionerName == "" {
			if o.ProvisionerName, err = p.line("provisioner", "What would you like to name the CA's first provisioner?", "(e.g. you@smallstep.com)", ""); err != nil {
				return err
			}
		}
	}
	if o.Password, err = p.password(c.String("password-file")); err != nil {
		return err
	}
	if f := c.String("provisioner-password-file"); f != "" && !o.PKIOnly {
		if o.ProvisionerPassword, err = fileutil.ReadPasswordFile(f); err != nil {
			return err
		}
	}

	if p.asked {
		fmt.Fprintln(out)
	}
	res, err := pki.Init(c.Context, stepPath, o)
	if errors.Is(err, pki.ErrExists) && !o.Force && p.terminal {
		ok, cerr := ui.Confirm("The PKI in " + stepPath + " already exists. Would you like to overwrite it")
		if cerr != nil || !ok {
			return err
		}
		o.Force = true
		res, err = pki.Init(c.Context, stepPath, o)
	}
	if err != nil {
		return initUserError(err)
	}
	var admin *initAdmin
	if o.RemoteManagement {
		if admin, err = initRemoteManagement(c.Context, res, c.String("admin-subject")); err != nil {
			return err
		}
	}
	initReport(out, res, admin)
	return nil
}

// initRootFlags applies --root, --key and --key-password-file. A --root
// without --key is ignored when it names the root this command writes or
// comes from $STEP_ROOT: the framework fills --root from defaults.json and
// the environment, where it means "the CA's root" for client commands.
func initRootFlags(c *cli.Context, p *initPrompter, l pki.Layout, o *pki.Options) error {
	root, key := c.String("root"), c.String("key")
	if root != "" && key == "" {
		if abs, err := filepath.Abs(root); err == nil && (abs == l.RootCert || root == os.Getenv(app.EnvName("root"))) {
			return nil
		}
		return errors.New("flag --root requires --key: the private key of the existing root certificate")
	}
	if key != "" && root == "" {
		return errors.New("flag --key requires --root: the existing root certificate")
	}
	if root == "" {
		return nil
	}
	o.RootCertPath, o.RootKeyPath = root, key
	if f := c.String("key-password-file"); f != "" {
		pw, err := fileutil.ReadPasswordFile(f)
		if err != nil {
			return err
		}
		o.RootKeyPassword = pw
		return nil
	}
	data, err := os.ReadFile(key)
	if err != nil {
		return fmt.Errorf("reading the root key %s: %w", key, errors.Unwrap(err))
	}
	if !pemutil.IsEncrypted(data) {
		return nil
	}
	if !p.terminal {
		return fmt.Errorf("flag --key-password-file is required to decrypt %s (stdin is not a terminal)", key)
	}
	pw, err := ui.PromptPassword("Please enter the password to decrypt " + key + ":")
	if err != nil {
		return err
	}
	o.RootKeyPassword = pw
	return nil
}

// initSplitDNS flattens repeated and comma separated --dns values, trimming
// blanks and dropping empty entries.
func initSplitDNS(values []string) []string {
	var out []string
	for _, v := range values {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// initUserError strips the option-validation sentinel from messages so the
// user sees one plain line.
func initUserError(err error) error {
	if errors.Is(err, pki.ErrInvalidOptions) {
		return errors.New(strings.TrimPrefix(err.Error(), pki.ErrInvalidOptions.Error()+": "))
	}
	return err
}

// initReport prints step's summary lines (wire-spec §1.2).
func initReport(w io.Writer, r *pki.Result, admin *initAdmin) {
	sel := func(name, value string) { fmt.Fprintf(w, "✔ %s: %s\n", name, value) }
	fmt.Fprintln(w)
	sel("Root certificate", r.RootCertPath)
	if r.RootKeyPath != "" {
		sel("Root private key", r.RootKeyPath)
	}
	sel("Root fingerprint", r.RootFingerprint)
	sel("Intermediate certificate", r.IntermediateCertPath)
	sel("Intermediate private key", r.IntermediateKeyPath)
	if r.SSHUserPublicKey != "" {
		sel("SSH user public key", r.SSHUserPublicKey)
		sel("SSH user private key", r.SSHUserPrivateKey)
		sel("SSH host public key", r.SSHHostPublicKey)
		sel("SSH host private key", r.SSHHostPrivateKey)
	}
	if r.DBPath != "" {
		sel("Database folder", r.DBPath)
	}
	if r.TemplatesPath != "" {
		sel("Templates folder", r.TemplatesPath)
	}
	if admin != nil {
		sel("Admin provisioner", admin.provisioner)
		sel("Super admin subject", admin.subject)
	}
	if r.DefaultsPath != "" {
		sel("Default configuration", r.DefaultsPath)
	}
	if r.CAConfigPath != "" {
		sel("Certificate Authority configuration", r.CAConfigPath)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Your PKI is ready to go. To generate certificates for individual services see 'step help ca'.")
}

// initPrompter asks for missing values on the terminal. Without a terminal
// every question fails with an error naming the flag to use instead.
type initPrompter struct {
	out      io.Writer
	in       *bufio.Reader
	terminal bool
	asked    bool // a question was shown
}

func newInitPrompter(out io.Writer) *initPrompter {
	return &initPrompter{out: out, in: bufio.NewReader(os.Stdin), terminal: ui.IsTerminal()}
}

// line asks question and returns the trimmed answer, def when the answer is
// empty and def is set; an empty answer without default is asked again. flag
// names the flag that gives the value non-interactively.
func (p *initPrompter) line(flag, question, example, def string) (string, error) {
	if !p.terminal {
		return "", fmt.Errorf("flag --%s is required (stdin is not a terminal)", flag)
	}
	p.asked = true
	if def != "" {
		example += " [default: " + def + "]"
	}
	for {
		fmt.Fprintf(p.out, "%s %s: ", question, example)
		s, err := p.in.ReadString('\n')
		s = strings.TrimSpace(s)
		if s == "" && def != "" {
			s = def
		}
		if s != "" {
			return s, nil
		}
		if err != nil {
			return "", fmt.Errorf("reading the answer for --%s: %w", flag, err)
		}
	}
}

// password returns the CA password: from file, or typed twice on the
// terminal, or generated (and shown) when the user types nothing.
func (p *initPrompter) password(file string) ([]byte, error) {
	if file != "" {
		return fileutil.ReadPasswordFile(file)
	}
	if !p.terminal {
		return nil, errors.New("flag --password-file is required (stdin is not a terminal)")
	}
	p.asked = true
	pw, err := ui.PromptPassword("Choose a password for your CA keys and first provisioner.\n[leave empty and we'll generate one]:")
	if err != nil {
		return nil, err
	}
	if len(pw) == 0 {
		gen, err := initGeneratePassword()
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(p.out, "✔ Password: %s\n", gen)
		return []byte(gen), nil
	}
	again, err := ui.PromptPassword("Confirm the password:")
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(again, pw) {
		return nil, errors.New("the passwords do not match")
	}
	return pw, nil
}

// initGeneratePassword returns 32 random letters and digits.
func initGeneratePassword() (string, error) {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 32)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return "", fmt.Errorf("generating a password: %w", err)
		}
		b[i] = alphabet[n.Int64()]
	}
	return string(b), nil
}
