package ca

import (
	"context"
	"fmt"
	"io"

	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/authority/admin"
	"github.com/mayfly-pki/mayfly/ca/pki"
	"github.com/mayfly-pki/mayfly/db"
)

// initAdmin is what `step ca init --remote-management` stored.
type initAdmin struct {
	provisioner string // "admin (JWK)"
	subject     string
}

// initRemoteManagement stores the first provisioner and a super admin
// with subject in the new CA's database (wire-spec §1.2), as step does.
func initRemoteManagement(ctx context.Context, res *pki.Result, subject string) (*initAdmin, error) {
	if subject == "" {
		subject = "step"
	}
	log := logrus.New()
	log.Out = io.Discard
	st, err := db.Open(ctx, &db.Options{Type: "badgerv2", DataSource: res.DBPath}, log)
	if err != nil {
		return nil, fmt.Errorf("opening the database %s: %w", res.DBPath, err)
	}
	as, ok := st.(admin.Store)
	if !ok {
		_ = st.Close()
		return nil, fmt.Errorf("the database %s cannot hold the admin tables", res.DBPath)
	}
	svc := admin.New(admin.Deps{Store: as})
	done, err := svc.Bootstrap(ctx, res.Provisioner, subject)
	if cerr := st.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("storing the first provisioner and super admin in %s: %w", res.DBPath, err)
	}
	if !done {
		return nil, fmt.Errorf("the database %s already holds provisioners or admins; remove it or use a new step path", res.DBPath)
	}
	return &initAdmin{provisioner: res.ProvisionerName + " (JWK)", subject: subject}, nil
}
