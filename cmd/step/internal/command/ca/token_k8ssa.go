package ca

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

// k8ssaDefaultTokenPath is where a pod's service account token is mounted,
// step's default for --k8ssa-token-path.
const k8ssaDefaultTokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token"

// k8ssaFlags are step's flags for K8sSA provisioners, whose token is the
// pod's service account token itself (wire-spec §8.1).
func k8ssaFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "k8ssa-token-path", Value: k8ssaDefaultTokenPath,
			Usage: "The `file` containing the Kubernetes Service Account token to send as the token of a K8sSA provisioner."},
	}
}

// selectK8sSAProvisioner returns the K8sSA provisioner the command uses, if
// any: the one --provisioner names; else the only one, when
// --k8ssa-token-path was given or the CA has no JWK provisioner (as step
// selects the only provisioner there is).
func selectK8sSAProvisioner(c *cli.Context, list []json.RawMessage) (*provInfo, bool) {
	name := c.String("provisioner")
	var k8s []provInfo
	jwks := 0
	for _, raw := range list {
		// Only the type and name: a JWK entry counts whatever its key.
		var p struct{ Type, Name string }
		if json.Unmarshal(raw, &p) != nil {
			continue
		}
		switch {
		case strings.EqualFold(p.Type, "K8sSA"):
			if name == "" || p.Name == name {
				k8s = append(k8s, provInfo{Type: p.Type, Name: p.Name})
			}
		case strings.EqualFold(p.Type, "JWK"):
			jwks++
		}
	}
	if len(k8s) != 1 || (name == "" && !c.IsSet("k8ssa-token-path") && jwks > 0) {
		return nil, false
	}
	return &k8s[0], true
}

// readK8sSAToken reads the service account token of --k8ssa-token-path,
// which step sends as the one-time token as is.
func readK8sSAToken(c *cli.Context) (string, error) {
	path := c.String("k8ssa-token-path")
	if path == "" {
		path = k8ssaDefaultTokenPath
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("error reading kubernetes service account token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", errors.New("error reading kubernetes service account token: " + path + " is empty")
	}
	return tok, nil
}
