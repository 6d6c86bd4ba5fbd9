package acme

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
)

// OrderRequest is a new-order: identifiers, the validity asked for, and
// the provisioner's challenge types.
type OrderRequest struct {
	Identifiers   []Identifier
	NotBefore     time.Time
	NotAfter      time.Time
	ProvisionerID string
	// Challenges are the types the provisioner offers.
	Challenges []string
	// CheckPolicy judges the order's names before any challenge exists
	// (authority.policy); nil allows all.
	CheckPolicy func(dns []string, ips []net.IP) error
}

// CheckIdentifiers validates an order's identifiers (RFC 8555 §7.1.3, §7.4)
// and returns the DNS names and IPs.
func CheckIdentifiers(ids []Identifier) ([]string, []net.IP, error) {
	if len(ids) == 0 {
		return nil, nil, Problemf(Malformed, "the order has no identifiers")
	}
	if len(ids) > MaxIdentifiers {
		return nil, nil, Problemf(RejectedIdentifier, "the order has %d identifiers, the limit is %d", len(ids), MaxIdentifiers)
	}
	var dns []string
	var ips []net.IP
	var subs []Subproblem
	for i := range ids {
		id := ids[i]
		bad := func(t ProblemType, detail string) {
			subs = append(subs, Subproblem{Type: ProblemPrefix + string(t), Detail: detail, Identifier: &id})
		}
		switch id.Type {
		case "dns":
			name := strings.TrimPrefix(id.Value, "*.")
			if !validDNSName(name) || strings.Contains(name, "*") {
				bad(RejectedIdentifier, fmt.Sprintf("%q is not a valid DNS name", id.Value))
				continue
			}
			dns = append(dns, id.Value)
		case "ip":
			addr, err := netip.ParseAddr(id.Value)
			if err != nil || addr.Zone() != "" {
				bad(Malformed, fmt.Sprintf("%q is not a valid IP address", id.Value))
				continue
			}
			ips = append(ips, net.IP(addr.AsSlice()))
		default:
			bad(UnsupportedIdentifier, fmt.Sprintf("identifier type %q is not supported", id.Type))
		}
	}
	if len(subs) > 0 {
		return nil, nil, &Error{Type: RejectedIdentifier, Detail: "the order has identifiers the server will not issue for", Subproblems: subs}
	}
	return dns, ips, nil
}

func validDNSName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// challengeTypes returns the challenge types offered for id.
func challengeTypes(id Identifier, wildcard bool, offered []string) []string {
	var out []string
	for _, t := range offered {
		switch {
		case wildcard && t != "dns-01":
		case id.Type == "ip" && t == "dns-01":
		default:
			out = append(out, t)
		}
	}
	return out
}

// NewOrder creates an order, its authorizations and their challenges.
func (s *Service) NewOrder(ctx context.Context, acc *Account, req OrderRequest) (*Order, error) {
	dns, ips, err := CheckIdentifiers(req.Identifiers)
	if err != nil {
		return nil, err
	}
	if req.CheckPolicy != nil {
		if err := req.CheckPolicy(dns, ips); err != nil {
			p := ProblemOf(err)
			if p.Type != ServerInternal {
				p.Type = RejectedIdentifier
			}
			return nil, p
		}
	}
	now := s.now()
	if !req.NotAfter.IsZero() && !req.NotBefore.IsZero() && !req.NotAfter.After(req.NotBefore) {
		return nil, Problemf(Malformed, "notAfter must be after notBefore")
	}
	orderID, err := randomID()
	if err != nil {
		return nil, err
	}
	o := &Order{
		ID: orderID, AccountID: acc.ID, ProvisionerID: req.ProvisionerID, Identifiers: req.Identifiers,
		Status: StatusPending, NotBefore: req.NotBefore, NotAfter: req.NotAfter,
		CreatedAt: now, ExpiresAt: now.Add(OrderLifetime),
	}
	var authzs []*Authz
	var chs []*Challenge
	for _, id := range req.Identifiers {
		wildcard := id.Type == "dns" && strings.HasPrefix(id.Value, "*.")
		az := &Authz{
			AccountID: acc.ID, Identifier: id, Status: StatusPending, Wildcard: wildcard,
			CreatedAt: now, ExpiresAt: now.Add(AuthzLifetime),
		}
		if wildcard {
			az.Identifier.Value = strings.TrimPrefix(id.Value, "*.")
		}
		if az.ID, err = randomID(); err != nil {
			return nil, err
		}
		if az.Token, err = randomID(); err != nil {
			return nil, err
		}
		types := challengeTypes(id, wildcard, req.Challenges)
		if len(types) == 0 {
			return nil, Problemf(RejectedIdentifier, "no challenge type offered by this provisioner can validate %q", id.Value)
		}
		for _, t := range types {
			ch := &Challenge{
				AccountID: acc.ID, AuthzID: az.ID, Type: t, Status: StatusPending, Token: az.Token,
				Value: az.Identifier.Value, CreatedAt: now,
			}
			if ch.ID, err = randomID(); err != nil {
				return nil, err
			}
			az.ChallengeIDs = append(az.ChallengeIDs, ch.ID)
			chs = append(chs, ch)
		}
		authzs = append(authzs, az)
		o.AuthorizationIDs = append(o.AuthorizationIDs, az.ID)
	}
	err = s.d.Store.ACMEUpdate(ctx, func(tx store.ACMETx) error {
		for _, ch := range chs {
			if err := s.txPut(tx, store.TableACMEChallenges, ch.ID, ch); err != nil {
				return err
			}
		}
		for _, az := range authzs {
			if err := s.txPut(tx, store.TableACMEAuthzs, az.ID, az); err != nil {
				return err
			}
		}
		if err := s.txPut(tx, store.TableACMEOrders, o.ID, o); err != nil {
			return err
		}
		var ids []string
		if err := s.txLoad(tx, store.TableACMEAccountOrders, acc.ID, "orders", &ids); err != nil && !isNotFound(err) {
			return err
		}
		ids = append(ids, o.ID)
		if len(ids) > MaxAccountOrders {
			ids = ids[len(ids)-MaxAccountOrders:]
		}
		return s.txPut(tx, store.TableACMEAccountOrders, acc.ID, ids)
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

func isNotFound(err error) bool {
	p, ok := err.(*Error)
	return ok && p.Type == NotFound
}

// Order returns order id of account accID with its status brought up to
// date (ready once every authorization is valid, invalid when one is or
// when it expired). Another account's order is unauthorized.
func (s *Service) Order(ctx context.Context, accID, id string) (*Order, error) {
	var o Order
	if err := s.load(ctx, store.TableACMEOrders, id, "order", &o); err != nil {
		return nil, err
	}
	if o.AccountID != accID {
		return nil, Problemf(Unauthorized, "account %s does not own order %s", accID, id)
	}
	status, err := s.orderStatus(ctx, &o, nil)
	if err != nil {
		return nil, err
	}
	if status == o.Status {
		return &o, nil
	}
	// Move it forward, in a transaction so a concurrent change wins.
	var out *Order
	err = s.d.Store.ACMEUpdate(ctx, func(tx store.ACMETx) error {
		var cur Order
		if err := s.txLoad(tx, store.TableACMEOrders, id, "order", &cur); err != nil {
			return err
		}
		st, err := s.orderStatus(ctx, &cur, tx)
		if err != nil {
			return err
		}
		if st != cur.Status {
			cur.Status = st
			if err := s.txPut(tx, store.TableACMEOrders, id, &cur); err != nil {
				return err
			}
			if st == StatusInvalid {
				if err := txUnlistOrder(tx, cur.AccountID, id); err != nil {
					return err
				}
			}
		}
		out = &cur
		return nil
	})
	return out, err
}

// orderStatus computes o's status from its authorizations (read in tx when
// not nil). Only pending orders change here.
func (s *Service) orderStatus(ctx context.Context, o *Order, tx store.ACMETx) (string, error) {
	switch o.Status {
	case StatusPending:
	case StatusReady:
		if s.now().After(o.ExpiresAt) {
			return StatusInvalid, nil
		}
		return o.Status, nil
	default:
		return o.Status, nil
	}
	if s.now().After(o.ExpiresAt) {
		return StatusInvalid, nil
	}
	valid := 0
	for _, azID := range o.AuthorizationIDs {
		var az Authz
		var err error
		if tx != nil {
			err = s.txLoad(tx, store.TableACMEAuthzs, azID, "authorization", &az)
		} else {
			err = s.load(ctx, store.TableACMEAuthzs, azID, "authorization", &az)
		}
		if err != nil {
			return "", err
		}
		switch authzStatus(&az, s.now()) {
		case StatusValid:
			valid++
		case StatusPending:
		default:
			return StatusInvalid, nil
		}
	}
	if valid == len(o.AuthorizationIDs) {
		return StatusReady, nil
	}
	return StatusPending, nil
}

// authzStatus is az's status at now (a pending one expires).
func authzStatus(az *Authz, now time.Time) string {
	if az.Status == StatusPending && now.After(az.ExpiresAt) {
		return StatusExpired
	}
	return az.Status
}

// Authz returns authorization id of account accID and its challenges.
func (s *Service) Authz(ctx context.Context, accID, id string) (*Authz, []*Challenge, error) {
	var az Authz
	if err := s.load(ctx, store.TableACMEAuthzs, id, "authorization", &az); err != nil {
		return nil, nil, err
	}
	if az.AccountID != accID {
		return nil, nil, Problemf(Unauthorized, "account %s does not own authorization %s", accID, id)
	}
	az.Status = authzStatus(&az, s.now())
	chs := make([]*Challenge, 0, len(az.ChallengeIDs))
	for _, cid := range az.ChallengeIDs {
		var ch Challenge
		if err := s.load(ctx, store.TableACMEChallenges, cid, "challenge", &ch); err != nil {
			return nil, nil, err
		}
		chs = append(chs, &ch)
	}
	return &az, chs, nil
}

// DeactivateAuthz moves a pending or valid authorization to deactivated
// (RFC 8555 §7.5.2).
func (s *Service) DeactivateAuthz(ctx context.Context, accID, id string) error {
	return s.d.Store.ACMEUpdate(ctx, func(tx store.ACMETx) error {
		var az Authz
		if err := s.txLoad(tx, store.TableACMEAuthzs, id, "authorization", &az); err != nil {
			return err
		}
		if az.AccountID != accID {
			return Problemf(Unauthorized, "account %s does not own authorization %s", accID, id)
		}
		if az.Status != StatusPending && az.Status != StatusValid {
			return Problemf(Malformed, "authorization %s is %s and cannot be deactivated", id, az.Status)
		}
		az.Status = StatusDeactivated
		return s.txPut(tx, store.TableACMEAuthzs, id, &az)
	})
}
