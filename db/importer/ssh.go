package importer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"

	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/authority/store"
	"github.com/mayfly-pki/mayfly/db/internal/steplayout"
	"github.com/mayfly-pki/mayfly/ssh"
)

// sshSource is implemented by sources that carry step-ca's SSH tables
// (wire-spec §6.3). ssh_hosts, ssh_users and ssh_host_principals are not
// read: the target's StoreSSHCertificate writes them again from each
// certificate of ssh_certs, as the CA did.
type sshSource interface {
	// SSHCertificates yields every ssh_certs record, decoded.
	SSHCertificates(ctx context.Context, fn func(*store.SSHCertificate) error) error
	// SSHRevocations yields every revoked_ssh_certs record.
	SSHRevocations(ctx context.Context, fn func(*store.Revocation) error) error
}

// isSSHTable reports whether Import carries table's records (directly or,
// for the index tables, through ssh_certs).
func isSSHTable(table string) bool {
	switch table {
	case steplayout.TableSSHCerts, steplayout.TableSSHHosts, steplayout.TableSSHUsers,
		steplayout.TableSSHPrincipals, steplayout.TableRevokedSSHCert:
		return true
	}
	return false
}

// SSHCertificates implements sshSource; the table is optional (a step-ca
// without an ssh block has none).
func (s stepSource) SSHCertificates(ctx context.Context, fn func(*store.SSHCertificate) error) error {
	return s.db.scan(ctx, steplayout.TableSSHCerts, true, func(key, value []byte) error {
		c, err := decodeSSHCertificate(string(key), value)
		if err != nil {
			return err
		}
		return fn(c)
	})
}

// SSHRevocations implements sshSource: revoked_ssh_certs holds the JSON of
// revoked_x509_certs.
func (s stepSource) SSHRevocations(ctx context.Context, fn func(*store.Revocation) error) error {
	return s.db.scan(ctx, steplayout.TableRevokedSSHCert, true, func(key, value []byte) error {
		r, err := decodeRevocationOf(steplayout.TableRevokedSSHCert, string(key), value)
		if err != nil {
			return err
		}
		return fn(r)
	})
}

// SSHCertificates implements sshSource for a Mayfly store that can list
// its SSH records (store.SSHScanner: every backend); another store carries
// none. Each certificate is decoded as step-ca's are, its record rebuilt
// from the wire bytes.
func (s storeSource) SSHCertificates(ctx context.Context, fn func(*store.SSHCertificate) error) error {
	sc, ok := s.st.(store.SSHScanner)
	if !ok {
		return nil
	}
	var own error // an error of fn or of a record, returned as is
	err := sc.SSHScanCertificates(ctx, func(c *store.SSHCertificate) error {
		d, err := decodeSSHCertificate(c.Serial, c.Wire)
		if err != nil {
			own = fmt.Errorf("source %s: %w", s.name, err)
		} else {
			own = fn(d)
		}
		return own
	})
	if err != nil && err != own {
		err = fmt.Errorf("source %s: table %s: %w", s.name, steplayout.TableSSHCerts, err)
	}
	return err
}

// SSHRevocations implements sshSource for a Mayfly store that can list its
// SSH records; another store carries none.
func (s storeSource) SSHRevocations(ctx context.Context, fn func(*store.Revocation) error) error {
	sc, ok := s.st.(store.SSHScanner)
	if !ok {
		return nil
	}
	var own error // an error of fn or of a record, returned as is
	err := sc.SSHScanRevocations(ctx, func(r *store.Revocation) error {
		if r.Serial == "" {
			own = fmt.Errorf("source %s: table %s: a record has an empty serial", s.name, steplayout.TableRevokedSSHCert)
		} else {
			own = fn(r)
		}
		return own
	})
	if err != nil && err != own {
		err = fmt.Errorf("source %s: table %s: %w", s.name, steplayout.TableRevokedSSHCert, err)
	}
	return err
}

// maxSSHWire bounds an ssh_certs record before it is parsed: every backend
// refuses larger values (512 KiB), and a certificate is a few KiB.
const maxSSHWire = 512 << 10

// decodeSSHCertificate builds the record of ssh_certs[serial] = wire: the
// host flag, principals and expiry come from the certificate, whose serial
// must be the key.
func decodeSSHCertificate(serial string, wire []byte) (*store.SSHCertificate, error) {
	if serial == "" {
		return nil, fmt.Errorf("table %s: a record has an empty key", steplayout.TableSSHCerts)
	}
	if len(wire) > maxSSHWire {
		return nil, fmt.Errorf("table %s, serial %s: the record is %d bytes long, the limit is %d", steplayout.TableSSHCerts, serial, len(wire), maxSSHWire)
	}
	pub, err := gossh.ParsePublicKey(wire)
	if err != nil {
		return nil, fmt.Errorf("table %s, serial %s: parse ssh certificate: %w", steplayout.TableSSHCerts, serial, err)
	}
	cert, ok := pub.(*gossh.Certificate)
	if !ok {
		return nil, fmt.Errorf("table %s, serial %s: the record is a %s key, not a certificate", steplayout.TableSSHCerts, serial, pub.Type())
	}
	if got := strconv.FormatUint(cert.Serial, 10); got != serial {
		return nil, fmt.Errorf("table %s, key %s: the certificate's serial is %s", steplayout.TableSSHCerts, serial, got)
	}
	return &store.SSHCertificate{
		Serial: serial, Wire: wire, Host: cert.CertType == gossh.HostCert,
		Principals: cert.ValidPrincipals, ValidBefore: ssh.Time(cert.ValidBefore).UTC(),
	}, nil
}

// importSSH copies src's SSH certificates and revocations into dst when
// both sides support them. A certificate already in dst with the same wire
// bytes, and a revocation dst reports as already revoked, count as present.
func (r *run) importSSH(ctx context.Context, src Source) error {
	ss, ok := src.(sshSource)
	if !ok {
		return nil
	}
	dst, ok := r.dst.(store.SSHStore)
	if !ok {
		return errors.New("ssh tables: the target database cannot hold them")
	}
	err := r.phase(ctx, steplayout.TableSSHCerts, func(ctx context.Context, submit func(func(context.Context) error) error) error {
		return ss.SSHCertificates(ctx, func(c *store.SSHCertificate) error {
			return submit(func(ctx context.Context) error {
				old, err := dst.GetSSHCertificate(ctx, c.Serial)
				switch {
				case err == nil && bytes.Equal(old.Wire, c.Wire):
					r.count(func(s *Stats) { s.SSHRecordsPresent++ })
					return nil
				case err != nil && !errors.Is(err, store.ErrNotFound):
					return fmt.Errorf("read ssh certificate %s from the target: %w", c.Serial, err)
				}
				if err := dst.StoreSSHCertificate(ctx, c); err != nil {
					return fmt.Errorf("store ssh certificate %s: %w", c.Serial, err)
				}
				r.count(func(s *Stats) { s.SSHRecords++ })
				return nil
			})
		})
	})
	if err != nil {
		return err
	}
	return r.phase(ctx, steplayout.TableRevokedSSHCert, func(ctx context.Context, submit func(func(context.Context) error) error) error {
		return ss.SSHRevocations(ctx, func(rv *store.Revocation) error {
			return submit(func(ctx context.Context) error {
				err := dst.RevokeSSH(ctx, rv)
				switch {
				case err == nil:
					r.count(func(s *Stats) { s.SSHRecords++ })
				case errors.Is(err, store.ErrAlreadyRevoked):
					r.count(func(s *Stats) { s.SSHRecordsPresent++ })
				default:
					return fmt.Errorf("revoke ssh certificate %s: %w", rv.Serial, err)
				}
				return nil
			})
		})
	})
}
