package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/mayfly-pki/mayfly/api/wire"
	"github.com/mayfly-pki/mayfly/provisioner/token"
)

// modeSSH signs SSH user certificates: POST /1.0/ssh/sign with a fresh JWK
// token carrying step.ssh per request (the CA is initialized with --ssh).
const modeSSH = "ssh"

// sshToken mints a token for POST /1.0/ssh/sign as `step ssh certificate`
// does for a user certificate (wire-spec §4.3).
func (m *minter) sshToken(aud, rootSHA, sub string, now time.Time) (string, error) {
	id, err := token.NewID()
	if err != nil {
		return "", fmt.Errorf("token id: %w", err)
	}
	c := &token.Claims{
		Audience: token.Audience{aud}, Issuer: m.name, Subject: sub, ID: id,
		IssuedAt: token.NewNumericDate(now), NotBefore: token.NewNumericDate(now),
		Expiry: token.NewNumericDate(now.Add(token.DefaultValidity)), SHA: rootSHA,
		Step: &token.StepClaims{SSH: &token.SSHOptions{CertType: "user", KeyID: sub, Principals: []string{sub}}},
	}
	return token.Sign(m.key, c, nil)
}

// sshBody mints a token for k and returns the JSON body of POST /1.0/ssh/sign.
func (r *runner) sshBody(k *clientKey, now time.Time) ([]byte, error) {
	pub, err := gossh.NewPublicKey(&k.key.PublicKey)
	if err != nil {
		return nil, err
	}
	tok, err := r.t.minter.sshToken(r.t.url+"/1.0/ssh/sign", r.t.rootSHA, k.name, now)
	if err != nil {
		return nil, err
	}
	return json.Marshal(wire.SSHSignRequest{PublicKey: pub.Marshal(), OTT: tok, CertType: "user", KeyID: k.name, Principals: []string{k.name}})
}

// verifySSHResponse checks an /ssh/sign answer: a user certificate of k's
// key for its name, signed (the CA key is checked by OpenSSH's rules:
// the signature verifies with the certificate's signature key).
func verifySSHResponse(body []byte, k *clientKey) error {
	var r wire.SSHSignResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("response is not an ssh sign response: %v", err)
	}
	b, err := base64.StdEncoding.DecodeString(r.Certificate)
	if err != nil {
		return fmt.Errorf(`response "crt": %v`, err)
	}
	pk, err := gossh.ParsePublicKey(b)
	if err != nil {
		return fmt.Errorf(`response "crt": %v`, err)
	}
	c, ok := pk.(*gossh.Certificate)
	if !ok {
		return errors.New(`response "crt" is not a certificate`)
	}
	want, err := gossh.NewPublicKey(&k.key.PublicKey)
	if err != nil {
		return err
	}
	if string(c.Key.Marshal()) != string(want.Marshal()) || c.CertType != gossh.UserCert || len(c.ValidPrincipals) != 1 || c.ValidPrincipals[0] != k.name {
		return fmt.Errorf("certificate for another key, type or principal")
	}
	checker := gossh.CertChecker{IsUserAuthority: func(gossh.PublicKey) bool { return true }}
	if err := checker.CheckCert(k.name, c); err != nil {
		return fmt.Errorf("certificate does not verify: %v", err)
	}
	return nil
}
