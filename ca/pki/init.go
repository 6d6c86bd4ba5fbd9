package pki

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mayfly-pki/mayfly/internal/keyutil"
	"github.com/mayfly-pki/mayfly/internal/pemutil"
)

// Result describes what Init wrote, for the console output of `step ca init`.
// Paths are absolute; a path is empty when the file or directory was not
// written (RootKeyPath with an existing root; DBPath with NoDB or PKIOnly;
// DefaultsPath, CAConfigPath and the provisioner fields with PKIOnly).
type Result struct {
	StepPath             string
	RootCertPath         string
	RootKeyPath          string
	RootFingerprint      string // lowercase hex SHA-256 of the root DER
	IntermediateCertPath string
	IntermediateKeyPath  string
	DBPath               string
	DefaultsPath         string
	CAConfigPath         string
	CAURL                string // the ca-url written to defaults.json

	ProvisionerName string
	ProvisionerKID  string
	// Provisioner is the first provisioner's ca.json entry; with
	// RemoteManagement it is not in ca.json and the caller stores it.
	Provisioner json.RawMessage

	// With Options.SSH: the SSH CA keys and the templates folder.
	SSHUserPublicKey, SSHUserPrivateKey string
	SSHHostPublicKey, SSHHostPrivateKey string
	TemplatesPath                       string

	Root         *x509.Certificate
	Intermediate *x509.Certificate
	// ExistingRoot is true when Options.RootCertPath was used instead of a new root.
	ExistingRoot bool
}

// Init creates a PKI in stepPath (made absolute) as `step ca init` does
// (wire-spec §1.2): certs/root_ca.crt, certs/intermediate_ca.crt,
// secrets/root_ca_key, secrets/intermediate_ca_key (certificates and keys
// 0600, keys legacy-encrypted with o.Password), config/ca.json (no trailing
// newline) and config/defaults.json (0644), and the directories config/,
// certs/, secrets/, db/ and templates/ (0700). With o.PKIOnly only the
// certificates and keys are written.
//
// Failure behaviour, in order:
//   - invalid options: an error wrapping ErrInvalidOptions, nothing touched;
//   - a file to write exists and !o.Force: an error wrapping ErrExists that names
//     it, nothing written;
//   - a target directory that does not accept files: "<dir> is not writable: ...",
//     nothing written;
//   - everything (keys, certificates, provisioner, JSON) is then generated in
//     memory; a failure there writes nothing;
//   - finally directories are created and files written one by one, atomically,
//     keys and certificates first and the configuration last. If a write fails
//     (or ctx is cancelled between writes) Init undoes its own changes: files it
//     created are removed, files it overwrote (with Force) get their previous
//     content back, and directories it created are removed. The returned error
//     names the failed write, and any change that could not be undone.
//
// Init does not lock stepPath: concurrent Inits into the same step path race.
func Init(ctx context.Context, stepPath string, o Options) (*Result, error) {
	return runInit(ctx, stepPath, o, newTxn())
}

// runInit is Init with the write transaction supplied (tests inject failures).
func runInit(ctx context.Context, stepPath string, o Options, tx *txn) (*Result, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if stepPath == "" {
		return nil, fmt.Errorf("%w: the step path is empty", ErrInvalidOptions)
	}
	abs, err := filepath.Abs(stepPath)
	if err != nil {
		return nil, fmt.Errorf("resolving the step path %s: %w", stepPath, err)
	}
	l := NewLayout(abs)

	var root *CA
	if o.RootCertPath != "" {
		if root, err = loadRoot(o.RootCertPath, o.RootKeyPath, o.RootKeyPassword); err != nil {
			return nil, err
		}
	}

	// Check the file system before the (slow) generation.
	names := plannedPaths(l, o, root != nil)
	if err := checkTargets(names, o.Force); err != nil {
		return nil, err
	}
	if err := checkWritable(plannedDirs(l, o)); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	art, err := generate(ctx, l, o, root)
	if err != nil {
		return nil, err
	}
	if err := commit(ctx, tx, plannedDirs(l, o), art.files); err != nil {
		return nil, err
	}
	return art.result, nil
}

// artifacts is everything Init writes, generated in memory.
type artifacts struct {
	files  []plannedFile
	result *Result
}

// plannedPaths lists the files Init writes (content not yet known), for the
// existence check.
func plannedPaths(l Layout, o Options, existingRoot bool) []plannedFile {
	var files []plannedFile
	files = append(files, plannedFile{path: l.RootCert})
	if !existingRoot && o.KMS == nil {
		files = append(files, plannedFile{path: l.RootKey})
	}
	files = append(files, plannedFile{path: l.IntermediateCert})
	if o.KMS == nil {
		files = append(files, plannedFile{path: l.IntermediateKey})
	}
	if !o.PKIOnly {
		files = append(files, plannedFile{path: l.CAConfig}, plannedFile{path: l.Defaults})
		if o.SSH {
			files = append(files, plannedSSHPaths(l)...)
		}
	}
	return files
}

// plannedDirs lists the directories Init creates, parents first.
func plannedDirs(l Layout, o Options) []string {
	dirs := []string{l.StepPath, l.CertsDir, l.SecretsDir}
	if o.PKIOnly {
		return dirs
	}
	dirs = append(dirs, l.ConfigDir)
	if !o.NoDB {
		dirs = append(dirs, l.DBDir)
	}
	dirs = append(dirs, l.TemplatesDir)
	if o.SSH {
		dirs = append(dirs, newSSHPaths(l).TemplatesDir)
	}
	return dirs
}

// generate creates the keys, certificates, provisioner and configuration
// files in memory. It does not touch the file system.
func generate(ctx context.Context, l Layout, o Options, existing *CA) (*artifacts, error) {
	kty, crv, size := o.keyParams()
	certOpts := CertOptions{Name: o.Name, NotBefore: o.now()}
	res := &Result{
		StepPath:             l.StepPath,
		RootCertPath:         l.RootCert,
		IntermediateCertPath: l.IntermediateCert,
		IntermediateKeyPath:  l.IntermediateKey,
	}
	var files []plannedFile

	if o.KMS != nil {
		res.IntermediateKeyPath = o.KMS.Intermediate
	}
	root := existing
	if root == nil && o.KMS != nil {
		progress(o.Progress, "Generating root certificate... ")
		key, err := o.createKMSKey(ctx, o.KMS.Root, "root")
		if err != nil {
			return nil, err
		}
		crt, err := NewRoot(key, certOpts)
		if err != nil {
			return nil, err
		}
		root = &CA{Certificate: crt, Signer: key}
		res.RootKeyPath = o.KMS.Root
	} else if root == nil {
		progress(o.Progress, "Generating root certificate... ")
		key, err := keyutil.Generate(kty, crv, size)
		if err != nil {
			return nil, fmt.Errorf("generating the root key: %w", err)
		}
		crt, err := NewRoot(key, certOpts)
		if err != nil {
			return nil, err
		}
		keyPEM, err := encodeKey(key, o.Password, "root")
		if err != nil {
			return nil, err
		}
		root = &CA{Certificate: crt, Signer: key}
		files = append(files, plannedFile{path: l.RootKey, data: keyPEM, perm: secretMode})
		res.RootKeyPath = l.RootKey
	} else {
		progress(o.Progress, "Copying root certificate... ")
		res.ExistingRoot = true
	}
	files = append(files, plannedFile{path: l.RootCert, data: pemutil.EncodeCertificate(root.Certificate), perm: secretMode})
	progress(o.Progress, "done!\n")
	res.Root = root.Certificate
	res.RootFingerprint = pemutil.Fingerprint(root.Certificate)
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	progress(o.Progress, "Generating intermediate certificate... ")
	var ikey crypto.Signer
	var err error
	if o.KMS != nil {
		ikey, err = o.createKMSKey(ctx, o.KMS.Intermediate, "intermediate")
	} else if ikey, err = keyutil.Generate(kty, crv, size); err != nil {
		err = fmt.Errorf("generating the intermediate key: %w", err)
	}
	if err != nil {
		return nil, err
	}
	icrt, err := NewIntermediate(ikey.Public(), *root, certOpts)
	if err != nil {
		return nil, err
	}
	files = append(files, plannedFile{path: l.IntermediateCert, data: pemutil.EncodeCertificate(icrt), perm: secretMode})
	if o.KMS == nil {
		ikeyPEM, err := encodeKey(ikey, o.Password, "intermediate")
		if err != nil {
			return nil, err
		}
		files = append(files, plannedFile{path: l.IntermediateKey, data: ikeyPEM, perm: secretMode})
	}
	res.Intermediate = icrt
	progress(o.Progress, "done!\n")

	if o.PKIOnly {
		return &artifacts{files: files, result: res}, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	if o.SSH {
		sshFiles, err := generateSSH(l, o, res)
		if err != nil {
			return nil, err
		}
		files = append(files, sshFiles...)
	}
	prov, err := NewJWKProvisioner(o.ProvisionerName, o.provisionerPassword())
	if err != nil {
		return nil, err
	}
	if o.SSH {
		prov.Claims = map[string]any{"enableSSHCA": true}
	}
	caJSON, err := marshalCAConfig(l, o, prov)
	if err != nil {
		return nil, err
	}
	res.CAURL = o.caURL()
	defJSON, err := marshalDefaults(l, res.CAURL, res.RootFingerprint)
	if err != nil {
		return nil, err
	}
	files = append(files,
		plannedFile{path: l.CAConfig, data: caJSON, perm: configMode},
		plannedFile{path: l.Defaults, data: defJSON, perm: configMode})
	res.CAConfigPath, res.DefaultsPath = l.CAConfig, l.Defaults
	res.ProvisionerName, res.ProvisionerKID = prov.Name, prov.Key.KeyID
	if res.Provisioner, err = prov.raw(); err != nil {
		return nil, err
	}
	if !o.NoDB {
		res.DBPath = l.DBDir
	}
	return &artifacts{files: files, result: res}, nil
}

// commit creates the directories and writes the files through tx, undoing
// everything on the first failure or on cancellation.
func commit(ctx context.Context, tx *txn, dirs []string, files []plannedFile) error {
	fail := func(err error) error {
		if uerr := tx.rollback(); uerr != nil {
			return fmt.Errorf("%w (undoing the partial initialization also failed: %v)", err, uerr)
		}
		return err
	}
	for _, d := range dirs {
		if err := tx.mkdirAll(d); err != nil {
			return fail(err)
		}
	}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		if err := tx.write(f); err != nil {
			return fail(err)
		}
	}
	return nil
}

// encodeKey returns the PEM of a CA key, legacy-encrypted with password
// (pemutil's step flavour: "EC PRIVATE KEY" + DEK-Info AES-256-CBC for EC).
func encodeKey(key any, password []byte, which string) ([]byte, error) {
	block, err := pemutil.MarshalPrivateKey(key, password)
	if err != nil {
		return nil, fmt.Errorf("encrypting the %s key: %w", which, err)
	}
	return pem.EncodeToMemory(block), nil
}

// loadRoot reads an existing root certificate (the first certificate of the
// file) and its private key, and checks that they can issue an intermediate.
func loadRoot(certPath, keyPath string, password []byte) (*CA, error) {
	certs, err := pemutil.ReadCertificates(certPath)
	if err != nil {
		return nil, fmt.Errorf("reading the root certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("reading the root key: %s does not exist", keyPath)
		}
		return nil, fmt.Errorf("reading the root key: %w", err)
	}
	key, err := pemutil.ParsePrivateKey(keyPEM, password)
	if err != nil {
		return nil, fmt.Errorf("reading the root key %s: %w", keyPath, err)
	}
	root := &CA{Certificate: certs[0], Signer: key}
	if err := checkIssuer(*root); err != nil {
		return nil, fmt.Errorf("using %s as root: %w", certPath, err)
	}
	return root, nil
}

// progress writes a progress fragment when w is set; write errors are ignored
// (progress output is best effort).
func progress(w io.Writer, s string) {
	if w != nil {
		_, _ = io.WriteString(w, s)
	}
}
