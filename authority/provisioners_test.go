package authority_test

import (
	"encoding/json"
	"testing"

	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/mayfly-pki/mayfly/authority/authoritytest"
)

// A provisioner of a type step-ca does not know is skipped, as step-ca
// does, but not silently: a warning names it, its type and the reason. The
// others keep working.
func TestUnknownProvisionerTypeIsLogged(t *testing.T) {
	t.Parallel()
	log, hook := logtest.NewNullLogger()
	env := authoritytest.New(t, authoritytest.Options{
		Logger:           log,
		MoreProvisioners: []json.RawMessage{json.RawMessage(`{"type":"JWKK","name":"typo"}`)},
	})
	provs := env.Authority.Provisioners()
	if _, ok := provs.ByName("typo"); ok || provs.Len() != 1 {
		t.Fatalf("the JWKK provisioner is served (%d provisioners)", provs.Len())
	}
	if _, ok := provs.ByName("admin"); !ok {
		t.Fatal("the admin provisioner is gone")
	}
	var found bool
	for _, e := range hook.AllEntries() {
		if e.Level == logrus.WarnLevel && e.Data["provisioner"] == "typo" && e.Data["type"] == "JWKK" &&
			e.Message == "provisioner is disabled: unknown provisioner type" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no warning names the disabled provisioner; log: %v", hook.AllEntries())
	}
}
