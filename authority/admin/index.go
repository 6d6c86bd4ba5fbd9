package admin

// Index finds an admin by subject and provisioner name, as step-ca's
// LoadAdminBySubProv. It is immutable once built; safe for concurrent use.
// A nil *Index holds no admin.
type Index struct {
	bySubProv map[subProv]*Admin
	list      []*Admin
	supers    int
}

type subProv struct{ subject, provisioner string }

// NewIndex indexes the admins that are not deleted. provisionerName maps an
// admin's ProvisionerID to the name of a loaded provisioner ("" when none:
// that admin cannot authenticate until its provisioner exists again).
func NewIndex(admins []*Admin, provisionerName func(id string) string) *Index {
	x := &Index{bySubProv: make(map[subProv]*Admin, len(admins))}
	for _, a := range admins {
		if !a.DeletedAt.IsZero() {
			continue
		}
		x.list = append(x.list, a)
		if a.Type == TypeSuper {
			x.supers++
		}
		if name := provisionerName(a.ProvisionerID); name != "" {
			x.bySubProv[subProv{a.Subject, name}] = a
		}
	}
	return x
}

// Lookup returns the admin with subject whose provisioner is named provisioner.
func (x *Index) Lookup(subject, provisioner string) (*Admin, bool) {
	if x == nil {
		return nil, false
	}
	a, ok := x.bySubProv[subProv{subject, provisioner}]
	return a, ok
}

// Len returns the number of admins.
func (x *Index) Len() int {
	if x == nil {
		return 0
	}
	return len(x.list)
}

// All returns the admins (not deleted), in store order. Do not modify them.
func (x *Index) All() []*Admin {
	if x == nil {
		return nil
	}
	return x.list
}
