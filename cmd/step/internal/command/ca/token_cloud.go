package ca

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Instance metadata endpoints step reads for the cloud identity
// provisioners, and the environment variables that override them (tests
// serve them on loopback).
const (
	gcpIdentityURL      = "http://metadata/computeMetadata/v1/instance/service-accounts/default/identity"
	gcpIdentityURLEnv   = "MAYFLY_GCP_IDENTITY_URL"
	awsMetadataURL      = "http://169.254.169.254"
	awsMetadataURLEnv   = "MAYFLY_AWS_METADATA_URL"
	azureIdentityURL    = "http://169.254.169.254/metadata/identity/oauth2/token"
	azureIdentityURLEnv = "MAYFLY_AZURE_IDENTITY_URL"
	azureDefaultAud     = "https://management.azure.com/"
	azureAPIVersion     = "2018-02-01"
	awsIssuer           = "ec2.amazonaws.com"
	maxMetadataSize     = 64 << 10
)

// cloudProv is what the CLI needs of a GCP, AWS or Azure provisioner.
type cloudProv struct {
	Type              string   `json:"type"`
	Name              string   `json:"name"`
	Audience          string   `json:"audience"`     // Azure
	IMDSVersions      []string `json:"imdsVersions"` // AWS
	DisableCustomSANs bool     `json:"disableCustomSANs"`
}

// findCloudProvisioner returns the provisioner --provisioner names when it
// is a GCP, AWS or Azure one: its token is the instance's identity, read
// from the metadata server, as step does.
func findCloudProvisioner(name string, list []json.RawMessage) (*cloudProv, bool) {
	if name == "" {
		return nil, false
	}
	for _, raw := range list {
		var p cloudProv
		if json.Unmarshal(raw, &p) != nil || p.Name != name {
			continue
		}
		switch strings.ToUpper(p.Type) {
		case "GCP", "AWS":
			p.Type = strings.ToUpper(p.Type)
			return &p, true
		case "AZURE":
			p.Type = "Azure"
			return &p, true
		}
	}
	return nil, false
}

func metadataURL(env, def string) string {
	if u := os.Getenv(env); u != "" {
		return u
	}
	return def
}

// mintCloudToken returns the identity token of the instance step runs on
// for provisioner p of the CA at caURL (wire-spec §4.8): GCP's and Azure's
// come from the metadata server; AWS's is a JWT step makes of the instance
// identity document and its signature.
func mintCloudToken(ctx context.Context, p *cloudProv, caURL, subject, path string) (string, error) {
	if path != "/1.0/sign" {
		return "", fmt.Errorf("provisioner %q of type %s can only authorize certificate signing", p.Name, p.Type)
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	switch strings.ToUpper(p.Type) {
	case "GCP":
		aud := caURL + "/1.0/sign#gcp/" + p.Name
		q := url.Values{"audience": {aud}, "format": {"full"}, "licenses": {"FALSE"}}
		b, err := metadataGet(ctx, hc, metadataURL(gcpIdentityURLEnv, gcpIdentityURL)+"?"+q.Encode(), "Metadata-Flavor", "Google")
		if err != nil {
			return "", fmt.Errorf("error getting identity token: %w\n  Are you in a GCP VM?", err)
		}
		return strings.TrimSpace(string(b)), nil
	case "AZURE":
		aud := p.Audience
		if aud == "" {
			aud = azureDefaultAud
		}
		q := url.Values{"resource": {aud}, "api-version": {azureAPIVersion}}
		b, err := metadataGet(ctx, hc, metadataURL(azureIdentityURLEnv, azureIdentityURL)+"?"+q.Encode(), "Metadata", "true")
		if err != nil {
			return "", fmt.Errorf("error getting identity token: %w\n  Are you in an Azure VM?", err)
		}
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal(b, &tok); err != nil || tok.AccessToken == "" {
			return "", errors.New("error getting identity token: the metadata server returned no access_token")
		}
		return tok.AccessToken, nil
	default:
		return awsToken(ctx, hc, p, caURL, subject)
	}
}

// awsToken reads the instance identity document and its signature (IMDSv2
// with a session token, then v1, or as imdsVersions says) and signs them
// into a JWT with HS256 keyed by the signature, as step does.
func awsToken(ctx context.Context, hc *http.Client, p *cloudProv, caURL, subject string) (string, error) {
	base := strings.TrimRight(metadataURL(awsMetadataURLEnv, awsMetadataURL), "/")
	versions := p.IMDSVersions
	if len(versions) == 0 {
		versions = []string{"v2", "v1"}
	}
	var doc, sig []byte
	var err error
	for _, v := range versions {
		var hdr []string
		if v == "v2" {
			var tok []byte
			tok, err = metadataDo(ctx, hc, http.MethodPut, base+"/latest/api/token", "X-aws-ec2-metadata-token-ttl-seconds", "30")
			if err != nil {
				continue
			}
			hdr = []string{"X-aws-ec2-metadata-token", strings.TrimSpace(string(tok))}
		}
		if doc, err = metadataGet(ctx, hc, base+"/latest/dynamic/instance-identity/document", hdr...); err != nil {
			continue
		}
		if sig, err = metadataGet(ctx, hc, base+"/latest/dynamic/instance-identity/signature", hdr...); err == nil {
			break
		}
	}
	if err != nil {
		return "", fmt.Errorf("error retrieving identity document: %w\n  Are you in an AWS VM?\n  Is the metadata service enabled?\n  Are you using the proper metadata service version?", err)
	}
	var idoc struct {
		InstanceID string `json:"instanceId"`
	}
	if err := json.Unmarshal(doc, &idoc); err != nil {
		return "", fmt.Errorf("error unmarshaling identity document: %w", err)
	}
	signature, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(sig)))
	if err != nil {
		return "", fmt.Errorf("error decoding identity document signature: %w", err)
	}
	sum := sha256.Sum256([]byte("aws/" + p.Name + "." + idoc.InstanceID))
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: signature}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", fmt.Errorf("error creating token signer: %w", err)
	}
	now := time.Now()
	payload, err := json.Marshal(map[string]any{
		"aud": []string{caURL + "/1.0/sign#aws/" + p.Name}, "exp": now.Add(5 * time.Minute).Unix(),
		"iat": now.Unix(), "iss": awsIssuer, "jti": hex.EncodeToString(sum[:]), "nbf": now.Unix(), "sub": subject,
		"amazon": map[string]any{"document": doc, "signature": signature},
	})
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("error signing token: %w", err)
	}
	return jws.CompactSerialize()
}

func metadataGet(ctx context.Context, hc *http.Client, u string, header ...string) ([]byte, error) {
	return metadataDo(ctx, hc, http.MethodGet, u, header...)
}

func metadataDo(ctx context.Context, hc *http.Client, method, u string, header ...string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, http.NoBody)
	if err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataSize))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: status %s", method, u, resp.Status)
	}
	return b, nil
}

var azureVMName = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.(?:Compute/virtualMachines|ManagedIdentity/userAssignedIdentities)/([^/]+)$`)

// cloudSANs returns the names step requests with a cloud identity token
// when no --san is given, from the token's (unverified) payload: GCP the
// instance's two internal DNS names, AWS its private IP and DNS name, Azure
// the virtual machine's name. Nil for other tokens.
func cloudSANs(tok string) []string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil
	}
	var pl struct {
		Google *struct {
			CE struct {
				InstanceName string `json:"instance_name"`
				ProjectID    string `json:"project_id"`
				Zone         string `json:"zone"`
			} `json:"compute_engine"`
		} `json:"google"`
		Amazon *struct {
			Document []byte `json:"document"`
		} `json:"amazon"`
		XMSMirID string `json:"xms_mirid"`
		TID      string `json:"tid"`
	}
	if json.Unmarshal(b, &pl) != nil {
		return nil
	}
	switch {
	case pl.Google != nil && pl.Google.CE.InstanceName != "":
		ce := pl.Google.CE
		return []string{
			fmt.Sprintf("%s.c.%s.internal", ce.InstanceName, ce.ProjectID),
			fmt.Sprintf("%s.%s.c.%s.internal", ce.InstanceName, ce.Zone, ce.ProjectID),
		}
	case pl.Amazon != nil:
		var doc struct {
			PrivateIP string `json:"privateIp"`
			Region    string `json:"region"`
		}
		if json.Unmarshal(pl.Amazon.Document, &doc) != nil || doc.PrivateIP == "" {
			return nil
		}
		return []string{doc.PrivateIP, fmt.Sprintf("ip-%s.%s.compute.internal", strings.ReplaceAll(doc.PrivateIP, ".", "-"), doc.Region)}
	case pl.TID != "" && pl.XMSMirID != "":
		if m := azureVMName.FindStringSubmatch(pl.XMSMirID); m != nil {
			return []string{m[1]}
		}
	}
	return nil
}
