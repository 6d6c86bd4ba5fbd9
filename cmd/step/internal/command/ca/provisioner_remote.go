package ca

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/provisioner"
)

// remoteMode reports whether a provisioner command goes through the admin
// API: ca.json has authority.enableAdmin (loadErr is errRemoteManagement)
// or admin credentials were given.
func remoteMode(c *cli.Context, loadErr error) bool {
	if errors.Is(loadErr, errRemoteManagement) {
		return true
	}
	for _, f := range []string{"admin-cert", "admin-key", "admin-subject", "admin-provisioner"} {
		if c.String(f) != "" {
			return true
		}
	}
	return false
}

// linkedProvisioner converts a ca.json entry for the admin API, failing
// here for what the CA would refuse to convert.
func linkedProvisioner(raw json.RawMessage) (*wire.Provisioner, error) {
	p, err := wire.ProvisionerFromConfig(raw)
	if err != nil {
		return nil, err
	}
	if _, err := wire.ProvisionerToConfig(p); err != nil {
		return nil, err
	}
	return p, nil
}

// provisionerAddRemote is `step ca provisioner add` through the admin API.
func provisionerAddRemote(c *cli.Context, typ, name string) error {
	if f := anyTemplateFlag(c); f != "" && typ == "SSHPOP" {
		return fmt.Errorf("flag '--%s' is not supported by SSHPOP provisioners", f)
	}
	raw, err := provEntryJSON(c, typ, name, nil)
	if err != nil {
		return err
	}
	lp, err := linkedProvisioner(raw)
	if err != nil {
		return err
	}
	a, err := newAdminClient(c)
	if err != nil {
		return err
	}
	return a.call(c, http.MethodPost, "/admin/provisioners", lp, &wire.Provisioner{})
}

// provisionerUpdateRemote is `step ca provisioner update` through the
// admin API: the stored entry is read, edited by the same flags as
// ca.json's, and written back.
func provisionerUpdateRemote(c *cli.Context, name string) error {
	a, err := newAdminClient(c)
	if err != nil {
		return err
	}
	path := "/admin/provisioners/" + url.PathEscape(name)
	var cur wire.Provisioner
	if err := a.call(c, http.MethodGet, path, nil, &cur); err != nil {
		return err
	}
	raw, err := wire.ProvisionerToConfig(&cur)
	if err != nil {
		return fmt.Errorf("provisioner %s: %w", name, err)
	}
	obj, err := parseJSONObject(raw)
	if err != nil {
		return fmt.Errorf("provisioner %s: %w", name, err)
	}
	typ := strings.ToUpper(cur.Type)
	if err := updateProvKey(c, obj, typ, name); err != nil {
		return err
	}
	if err := updateProvClaimsMember(c, obj, name, (*provisioner.Claims)(nil)); err != nil {
		return err
	}
	if err := updateProvOptions(c, obj, typ); err != nil {
		return err
	}
	if raw, err = json.Marshal(obj); err != nil {
		return fmt.Errorf("encoding provisioner %q: %w", name, err)
	}
	lp, err := linkedProvisioner(raw)
	if err != nil {
		return err
	}
	lp.ID, lp.AuthorityID = cur.ID, cur.AuthorityID
	return a.call(c, http.MethodPut, path, lp, &wire.Provisioner{})
}

// provisionerRemoveRemote is `step ca provisioner remove` through the
// admin API.
func provisionerRemoveRemote(c *cli.Context, name string) error {
	a, err := newAdminClient(c)
	if err != nil {
		return err
	}
	return a.call(c, http.MethodDelete, "/admin/provisioners/"+url.PathEscape(name), nil, nil)
}
