package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/mayfly-pki/mayfly/internal/errs"
)

// bad is a refused change: 400 with msg as the whole message.
func bad(format string, args ...any) error {
	return errs.Exact(errs.BadRequest, fmt.Sprintf(format, args...), nil)
}

func notFound(format string, args ...any) error {
	return errs.Exact(errs.NotFound, fmt.Sprintf(format, args...), nil)
}

// header reads the type and name of a provisioner's ca.json entry.
func header(cfg json.RawMessage) (typ, name string, err error) {
	if len(cfg) > MaxProvisionerSize {
		return "", "", bad("provisioner is %d bytes long, the limit is %d", len(cfg), MaxProvisionerSize)
	}
	var b struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(cfg, &b); err != nil {
		return "", "", bad("error decoding provisioner: %v", err)
	}
	if strings.TrimSpace(b.Name) == "" {
		return "", "", bad("provisioner name cannot be empty")
	}
	if b.Type == "" {
		return "", "", bad("provisioner type cannot be empty")
	}
	return b.Type, b.Name, nil
}

func liveProvisioner(r *Records, name string) *Provisioner {
	for _, p := range r.Provisioners {
		if p.DeletedAt.IsZero() && p.Name == name {
			return p
		}
	}
	return nil
}

// ProvisionerByName returns the provisioner record called name that is not
// deleted.
func (r *Records) ProvisionerByName(name string) (*Provisioner, bool) {
	p := liveProvisioner(r, name)
	return p, p != nil
}

// CreateProvisioner stores a new provisioner from its ca.json entry cfg.
// Its name must be new (Check refuses one clashing with ca.json's).
func (s *Service) CreateProvisioner(ctx context.Context, cfg json.RawMessage) (*Provisioner, error) {
	typ, name, err := header(cfg)
	if err != nil {
		return nil, err
	}
	id, err := NewID()
	if err != nil {
		return nil, err
	}
	p := &Provisioner{ID: id, AuthorityID: DefaultAuthorityID, Type: typ, Name: name, Config: cfg, CreatedAt: s.d.Now().UTC().Truncate(1e9)}
	err = s.change(ctx, func(r *Records) (Change, error) {
		if liveProvisioner(r, name) != nil {
			return Change{}, bad("provisioner with name %s already exists", name)
		}
		r.Provisioners = append(r.Provisioners, p)
		return Change{Provisioners: []*Provisioner{p}}, nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// UpdateProvisioner replaces the configuration of the stored provisioner
// called name with cfg; the type cannot change.
func (s *Service) UpdateProvisioner(ctx context.Context, name string, cfg json.RawMessage) (*Provisioner, error) {
	typ, newName, err := header(cfg)
	if err != nil {
		return nil, err
	}
	var out *Provisioner
	err = s.change(ctx, func(r *Records) (Change, error) {
		p := liveProvisioner(r, name)
		if p == nil {
			return Change{}, notFound("provisioner %s not found", name)
		}
		if !strings.EqualFold(p.Type, typ) {
			return Change{}, bad("cannot change provisioner type")
		}
		if newName != name && liveProvisioner(r, newName) != nil {
			return Change{}, bad("provisioner with name %s already exists", newName)
		}
		p.Name, p.Config = newName, cfg
		out = p
		return Change{Provisioners: []*Provisioner{p}}, nil
	})
	return out, err
}

// DeleteProvisioner deletes the stored provisioner called name and its
// admins, unless no super admin would remain.
func (s *Service) DeleteProvisioner(ctx context.Context, name string) error {
	now := s.d.Now().UTC().Truncate(1e9)
	return s.change(ctx, func(r *Records) (Change, error) {
		p := liveProvisioner(r, name)
		if p == nil {
			return Change{}, notFound("provisioner %s not found", name)
		}
		var gone []*Admin
		supers, goneSupers := 0, 0
		for _, a := range r.Admins {
			if !a.DeletedAt.IsZero() {
				continue
			}
			if a.Type == TypeSuper {
				supers++
			}
			if a.ProvisionerID == p.ID {
				if a.Type == TypeSuper {
					goneSupers++
				}
				gone = append(gone, a)
			}
		}
		if goneSupers > 0 && goneSupers == supers {
			return Change{}, bad("cannot remove provisioner %s because no super admins will remain", name)
		}
		p.DeletedAt = now
		for _, a := range gone {
			a.DeletedAt = now
		}
		return Change{Admins: gone, Provisioners: []*Provisioner{p}}, nil
	})
}

// CreateAdmin stores a new admin: subject, of the provisioner with ID
// provisionerID (called provName, for messages), with role typ.
func (s *Service) CreateAdmin(ctx context.Context, subject, provisionerID, provName string, typ Type) (*Admin, error) {
	subject = strings.TrimSpace(subject)
	switch {
	case subject == "":
		return nil, bad("admin subject cannot be empty")
	case len(subject) > MaxSubjectLen:
		return nil, bad("admin subject is %d bytes long, the limit is %d", len(subject), MaxSubjectLen)
	case typ != TypeAdmin && typ != TypeSuper:
		return nil, bad("admin type must be ADMIN or SUPER_ADMIN")
	}
	id, err := NewID()
	if err != nil {
		return nil, err
	}
	a := &Admin{ID: id, AuthorityID: DefaultAuthorityID, ProvisionerID: provisionerID, Subject: subject, Type: typ, CreatedAt: s.d.Now().UTC().Truncate(1e9)}
	err = s.change(ctx, func(r *Records) (Change, error) {
		for _, o := range r.Admins {
			if o.DeletedAt.IsZero() && o.Subject == subject && o.ProvisionerID == provisionerID {
				return Change{}, bad("admin with subject %s and provisioner %s already exists", subject, provName)
			}
		}
		r.Admins = append(r.Admins, a)
		return Change{Admins: []*Admin{a}}, nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

func liveAdmin(r *Records, id string) (*Admin, int) {
	var found *Admin
	supers := 0
	for _, a := range r.Admins {
		if !a.DeletedAt.IsZero() {
			continue
		}
		if a.Type == TypeSuper {
			supers++
		}
		if a.ID == id {
			found = a
		}
	}
	return found, supers
}

// UpdateAdmin changes the role of admin id; the last super admin stays one.
func (s *Service) UpdateAdmin(ctx context.Context, id string, typ Type) (*Admin, error) {
	if typ != TypeAdmin && typ != TypeSuper {
		return nil, bad("admin type must be ADMIN or SUPER_ADMIN")
	}
	var out *Admin
	err := s.change(ctx, func(r *Records) (Change, error) {
		a, supers := liveAdmin(r, id)
		if a == nil {
			return Change{}, notFound("admin %s not found", id)
		}
		if a.Type == TypeSuper && typ != TypeSuper && supers == 1 {
			return Change{}, bad("cannot change the type of the last super admin")
		}
		a.Type = typ
		out = a
		return Change{Admins: []*Admin{a}}, nil
	})
	return out, err
}

// DeleteAdmin deletes admin id, unless it is the last super admin.
func (s *Service) DeleteAdmin(ctx context.Context, id string) error {
	now := s.d.Now().UTC().Truncate(1e9)
	return s.change(ctx, func(r *Records) (Change, error) {
		a, supers := liveAdmin(r, id)
		if a == nil {
			return Change{}, notFound("admin %s not found", id)
		}
		if a.Type == TypeSuper && supers == 1 {
			return Change{}, bad("cannot remove the last super admin")
		}
		a.DeletedAt = now
		return Change{Admins: []*Admin{a}}, nil
	})
}

// Bootstrap stores the first provisioner and super admin of a new CA
// (`step ca init --remote-management`) when the tables are empty; it
// returns false, writing nothing, when they are not.
func (s *Service) Bootstrap(ctx context.Context, cfg json.RawMessage, subject string) (bool, error) {
	typ, name, err := header(cfg)
	if err != nil {
		return false, err
	}
	pid, err := NewID()
	if err != nil {
		return false, err
	}
	aid, err := NewID()
	if err != nil {
		return false, err
	}
	now := s.d.Now().UTC().Truncate(1e9)
	p := &Provisioner{ID: pid, AuthorityID: DefaultAuthorityID, Type: typ, Name: name, Config: cfg, CreatedAt: now}
	a := &Admin{ID: aid, AuthorityID: DefaultAuthorityID, ProvisionerID: pid, Subject: subject, Type: TypeSuper, CreatedAt: now}
	done := false
	err = s.change(ctx, func(r *Records) (Change, error) {
		if len(r.Admins) > 0 || len(r.Provisioners) > 0 {
			return Change{}, nil
		}
		done = true
		r.Admins, r.Provisioners = []*Admin{a}, []*Provisioner{p}
		return Change{Admins: []*Admin{a}, Provisioners: []*Provisioner{p}}, nil
	})
	return done, err
}

// BootstrapAdmin stores a first super admin with subject for the
// provisioner with ID provisionerID (a ca.json provisioner) when the
// tables are empty, as step-ca does when remote administration is first
// enabled; it returns false, writing nothing, when they are not.
func (s *Service) BootstrapAdmin(ctx context.Context, subject, provisionerID string) (bool, error) {
	id, err := NewID()
	if err != nil {
		return false, err
	}
	a := &Admin{ID: id, AuthorityID: DefaultAuthorityID, ProvisionerID: provisionerID, Subject: subject, Type: TypeSuper, CreatedAt: s.d.Now().UTC().Truncate(1e9)}
	done := false
	err = s.change(ctx, func(r *Records) (Change, error) {
		if len(r.Admins) > 0 || len(r.Provisioners) > 0 {
			return Change{}, nil
		}
		done = true
		r.Admins = []*Admin{a}
		return Change{Admins: []*Admin{a}}, nil
	})
	return done, err
}

// MaxPolicySize bounds the stored authority policy.
const MaxPolicySize = 256 << 10

// SetPolicy stores the authority policy (ca.json's authority.policy form,
// already validated by the caller); create refuses to replace one and
// !create refuses when there is none, as step-ca's POST and PUT.
func (s *Service) SetPolicy(ctx context.Context, policy json.RawMessage, create bool) error {
	if len(policy) == 0 || len(policy) > MaxPolicySize {
		return bad("policy is %d bytes long, the limit is %d", len(policy), MaxPolicySize)
	}
	return s.change(ctx, func(r *Records) (Change, error) {
		switch {
		case create && r.Policy != nil:
			return Change{}, errs.Exact(errs.Conflict, "authority already has a policy", nil)
		case !create && r.Policy == nil:
			return Change{}, notFound("authority policy does not exist")
		}
		r.Policy = policy
		return Change{SetPolicy: true, Policy: policy}, nil
	})
}

// DeletePolicy deletes the authority policy.
func (s *Service) DeletePolicy(ctx context.Context) error {
	return s.change(ctx, func(r *Records) (Change, error) {
		if r.Policy == nil {
			return Change{}, notFound("authority policy does not exist")
		}
		r.Policy = nil
		return Change{SetPolicy: true}, nil
	})
}

// EditProvisioner replaces the configuration of the stored provisioner
// called name with edit's result, within one change: edit sees the
// configuration as stored when the change starts (again on a retry), so a
// concurrent change to the provisioner is not lost. The type and name
// cannot change.
func (s *Service) EditProvisioner(ctx context.Context, name string, edit func(cfg json.RawMessage) (json.RawMessage, error)) (*Provisioner, error) {
	var out *Provisioner
	err := s.change(ctx, func(r *Records) (Change, error) {
		p := liveProvisioner(r, name)
		if p == nil {
			return Change{}, notFound("provisioner %s not found", name)
		}
		cfg, err := edit(p.Config)
		if err != nil {
			return Change{}, err
		}
		typ, newName, err := header(cfg)
		if err != nil {
			return Change{}, err
		}
		if !strings.EqualFold(p.Type, typ) || newName != name {
			return Change{}, bad("cannot change provisioner type or name")
		}
		p.Config = cfg
		out = p
		return Change{Provisioners: []*Provisioner{p}}, nil
	})
	return out, err
}
