package acme

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
)

// Signer issues an order's certificate: names are the order's identifiers
// (wildcards included), notBefore/notAfter what the order asked (zero:
// defaults).
type Signer func(ctx context.Context, csr *x509.CertificateRequest, names []string, notBefore, notAfter time.Time) (*Signed, error)

// Signed is what a Signer issued: the leaf and the intermediates, DER, and
// the leaf's serial number in decimal.
type Signed struct {
	Leaf          []byte
	Intermediates [][]byte
	Serial        string
	// Durable, if set, waits for the authority's record of the leaf, which
	// the signer queued instead of waiting for it: Finalize calls it after
	// its own write (the order), which the store commits with or after the
	// record, and hands the certificate out only if it returns nil.
	Durable func(context.Context) error
}

// CheckCSR verifies that csr asks for exactly the order's identifiers
// (RFC 8555 §7.4): its DNS names, IPs and common name (which must be one
// of them), nothing else.
func CheckCSR(o *Order, csr *x509.CertificateRequest) ([]string, error) {
	if err := csr.CheckSignature(); err != nil {
		return nil, &Error{Type: BadCSR, Detail: "the CSR's signature is invalid", Cause: err}
	}
	if len(csr.EmailAddresses) > 0 || len(csr.URIs) > 0 {
		return nil, Problemf(BadCSR, "the CSR asks for email or URI names, which ACME does not validate")
	}
	want := map[string]bool{}
	var names []string
	for _, id := range o.Identifiers {
		v := strings.ToLower(id.Value)
		if id.Type == "ip" {
			v = net.ParseIP(id.Value).String()
		}
		want[id.Type+":"+v] = true
		names = append(names, id.Value)
	}
	got := map[string]bool{}
	for _, d := range csr.DNSNames {
		got["dns:"+strings.ToLower(d)] = true
	}
	for _, ip := range csr.IPAddresses {
		got["ip:"+ip.String()] = true
	}
	if cn := csr.Subject.CommonName; cn != "" {
		k := "dns:" + strings.ToLower(cn)
		if ip := net.ParseIP(cn); ip != nil {
			k = "ip:" + ip.String()
		}
		if !want[k] {
			return nil, Problemf(BadCSR, "the CSR's common name %q is not one of the order's identifiers", cn)
		}
		got[k] = true
	}
	for k := range want {
		if !got[k] {
			return nil, Problemf(BadCSR, "the CSR does not ask for the order's identifier %s", k)
		}
	}
	for k := range got {
		if !want[k] {
			return nil, Problemf(BadCSR, "the CSR asks for %s, which is not in the order", k)
		}
	}
	return names, nil
}

// Finalize issues order id's certificate (RFC 8555 §7.4). Of concurrent
// finalizes only one signs: with a store only this process writes
// (Deps.SingleWriter) the order is claimed in memory, with no write; on a
// shared SQL database it moves ready → processing in one transaction. Then
// one transaction makes it valid with its certificate (or invalid if
// signing failed) and takes it out of the account's index of unfinished
// orders.
func (s *Service) Finalize(ctx context.Context, acc *Account, id string, csr *x509.CertificateRequest, sign Signer) (*Order, error) {
	if s.finalizing != nil {
		release, err := s.finalizing.claim(id)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	// With the claim held, what is read now cannot change before the end
	// (the store has no other writer; a finalize that ended before the
	// claim has committed).
	var o Order
	if err := s.load(ctx, store.TableACMEOrders, id, "order", &o); err != nil {
		return nil, err
	}
	if o.AccountID != acc.ID {
		return nil, Problemf(Unauthorized, "account %s does not own order %s", acc.ID, id)
	}
	st, err := s.orderStatus(ctx, &o, nil)
	if err != nil {
		return nil, err
	}
	if st != StatusReady {
		return nil, Problemf(OrderNotReady, "order %s is %s, not ready", id, st)
	}
	names, err := CheckCSR(&o, csr)
	if err != nil {
		return nil, err
	}
	if s.finalizing == nil {
		if err := s.processOrder(ctx, id); err != nil {
			return nil, err
		}
	}
	issued, serr := sign(ctx, csr, names, o.NotBefore, o.NotAfter)
	var certID string
	if serr == nil {
		certID, serr = randomID()
	}
	var out *Order
	err = s.d.Store.ACMEUpdate(ctx, func(tx store.ACMETx) error {
		var cur Order
		if err := s.txLoad(tx, store.TableACMEOrders, id, "order", &cur); err != nil {
			return err
		}
		if !s.claimed(&cur) {
			return fmt.Errorf("order %s changed to %s while processing", id, cur.Status)
		}
		out = &cur
		if serr != nil {
			p := ProblemOf(serr)
			cur.Status = StatusInvalid
			cur.Error = &ProblemJSON{Type: ProblemPrefix + string(p.Type), Detail: p.Detail}
		} else {
			serial := issued.Serial
			rec := &Certificate{ID: certID, CreatedAt: s.now(), AccountID: acc.ID, OrderID: id, Leaf: issued.Leaf, Intermediates: bytes.Join(issued.Intermediates, nil)}
			if err := s.txPut(tx, store.TableACMECerts, certID, rec); err != nil {
				return err
			}
			if err := s.txPut(tx, store.TableACMESerialCerts, serial, serialIndex{Serial: serial, CertificateID: certID}); err != nil {
				return err
			}
			cur.Status, cur.CertificateID = StatusValid, certID
		}
		if err := s.txPut(tx, store.TableACMEOrders, id, &cur); err != nil {
			return err
		}
		return txUnlistOrder(tx, cur.AccountID, id)
	})
	if err != nil {
		return nil, err
	}
	if serr == nil && issued.Durable != nil {
		if err := issued.Durable(ctx); err != nil {
			return nil, err
		}
	}
	if serr != nil {
		p := ProblemOf(serr)
		if p.Type == RejectedIdentifier || p.Type == Malformed {
			p.Type = BadCSR
		}
		return nil, p
	}
	return out, nil
}

// claim makes the caller the only finalize of order id until release.
func (c *orderClaims) claim(id string) (release func(), err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, busy := c.m[id]; busy {
		return nil, Problemf(OrderNotReady, "order %s is %s, not ready", id, StatusProcessing)
	}
	c.m[id] = struct{}{}
	return func() {
		c.mu.Lock()
		delete(c.m, id)
		c.mu.Unlock()
	}, nil
}

// processOrder claims order id on a shared database: in one transaction it
// must be ready (pending → ready is persisted with it) and becomes
// processing.
func (s *Service) processOrder(ctx context.Context, id string) error {
	return s.d.Store.ACMEUpdate(ctx, func(tx store.ACMETx) error {
		var cur Order
		if err := s.txLoad(tx, store.TableACMEOrders, id, "order", &cur); err != nil {
			return err
		}
		st, err := s.orderStatus(ctx, &cur, tx)
		if err != nil {
			return err
		}
		if st != StatusReady {
			return Problemf(OrderNotReady, "order %s is %s, not ready", id, st)
		}
		cur.Status = StatusProcessing
		return s.txPut(tx, store.TableACMEOrders, id, &cur)
	})
}

// claimed reports whether cur, read in the transaction that ends a
// finalize, is still the order this finalize claimed: processing on a
// shared database; pending or ready (as found under the claim) in memory.
func (s *Service) claimed(cur *Order) bool {
	if s.finalizing != nil {
		return cur.Status == StatusPending || cur.Status == StatusReady
	}
	return cur.Status == StatusProcessing
}

// txUnlistOrder takes order id out of account accID's index, which lists
// the orders not yet finished (RFC 8555 §7.1.2.1: pending ones should be
// listed, invalid ones should not; as step-ca, finished ones are not).
func txUnlistOrder(tx store.ACMETx, accID, id string) error {
	var ids []string
	if err := txLoad(tx, store.TableACMEAccountOrders, accID, "orders", &ids); err != nil {
		if isNotFound(err) {
			return nil
		}
		return err
	}
	i := slices.Index(ids, id)
	if i < 0 {
		return nil
	}
	return txPut(tx, store.TableACMEAccountOrders, accID, slices.Delete(ids, i, i+1))
}

// Certificate returns certificate id of account accID: the DER of the leaf
// and of the intermediates, split without parsing them (they were parsed
// when issued).
func (s *Service) Certificate(ctx context.Context, accID, id string) ([][]byte, error) {
	var c Certificate
	if err := s.load(ctx, store.TableACMECerts, id, "certificate", &c); err != nil {
		return nil, err
	}
	if c.AccountID != accID {
		return nil, Problemf(Unauthorized, "account %s does not own certificate %s", accID, id)
	}
	out := [][]byte{c.Leaf}
	rest := c.Intermediates
	for len(rest) > 0 {
		var v asn1.RawValue
		r, err := asn1.Unmarshal(rest, &v)
		if err != nil {
			return nil, fmt.Errorf("certificate %s: intermediates: %w", id, err)
		}
		out = append(out, v.FullBytes)
		rest = r
	}
	return out, nil
}

// CertificateBySerial returns the ACME record of serial, or a NotFound problem
// when the certificate was not issued by ACME.
func (s *Service) CertificateBySerial(ctx context.Context, serial string) (*Certificate, error) {
	var idx serialIndex
	if err := s.load(ctx, store.TableACMESerialCerts, serial, "certificate", &idx); err != nil {
		return nil, err
	}
	var c Certificate
	if err := s.load(ctx, store.TableACMECerts, idx.CertificateID, "certificate", &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// MayRevoke reports whether account acc may revoke cert (RFC 8555 §7.6):
// it ordered it, or it holds valid authorizations for all its names is not
// tracked here, so only the ordering account.
func (s *Service) MayRevoke(ctx context.Context, acc *Account, cert *x509.Certificate) error {
	c, err := s.CertificateBySerial(ctx, cert.SerialNumber.String())
	if err != nil {
		var p *Error
		if errors.As(err, &p) && p.Type == NotFound {
			return Problemf(Unauthorized, "the certificate was not issued by this ACME server")
		}
		return err
	}
	if !bytes.Equal(c.Leaf, cert.Raw) {
		return Problemf(Unauthorized, "the certificate does not match the one issued")
	}
	if c.AccountID != acc.ID {
		return Problemf(Unauthorized, "account %s did not order this certificate", acc.ID)
	}
	return nil
}
