package acme

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/mayfly-pki/mayfly/authority/store"
)

// EABKey is the acme_external_account_keys record (wire-spec §6.4): an
// HMAC key an operator hands out so that a client may create an account on
// a provisioner with requireEAB.
type EABKey struct {
	ID            string    `json:"id"`
	ProvisionerID string    `json:"provisionerID"`
	Reference     string    `json:"reference"`
	AccountID     string    `json:"accountID"`
	HmacKey       []byte    `json:"key"`
	CreatedAt     time.Time `json:"createdAt"`
	BoundAt       time.Time `json:"boundAt"`
	// Policy is the key's certificate issuance policy (the shape of
	// authority.policy), applied at new-order to the account bound with
	// it; nil: none.
	Policy json.RawMessage `json:"policy,omitempty"`
}

type eabReference struct {
	Reference            string `json:"reference"`
	ExternalAccountKeyID string `json:"externalAccountKeyID"`
}

// MaxReference bounds an EAB key's reference.
const MaxReference = 200

func eabRefKey(provID, ref string) string { return provID + "." + ref }

// AddEABKey creates an EAB key for provisioner provID, with an optional
// reference unique within the provisioner.
func (s *Service) AddEABKey(ctx context.Context, provID, reference string) (*EABKey, error) {
	if len(reference) > MaxReference {
		return nil, Problemf(Malformed, "reference is over %d bytes", MaxReference)
	}
	id, err := randomID()
	if err != nil {
		return nil, err
	}
	k := &EABKey{ID: id, ProvisionerID: provID, Reference: reference, HmacKey: make([]byte, 32), CreatedAt: s.now()}
	if _, err := rand.Read(k.HmacKey); err != nil {
		return nil, err
	}
	err = s.d.Store.ACMEUpdate(ctx, func(tx store.ACMETx) error {
		if reference != "" {
			if _, err := tx.Get(store.TableACMEEABReference, eabRefKey(provID, reference)); err == nil {
				return Problemf(Malformed, "an EAB key with reference %q already exists", reference)
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if err := s.txPut(tx, store.TableACMEEABReference, eabRefKey(provID, reference), eabReference{reference, id}); err != nil {
				return err
			}
		}
		var ids []string
		if err := s.txLoad(tx, store.TableACMEEABProvIndex, provID, "EAB keys", &ids); err != nil && !isNotFound(err) {
			return err
		}
		if err := s.txPut(tx, store.TableACMEEABProvIndex, provID, append(ids, id)); err != nil {
			return err
		}
		return s.txPut(tx, store.TableACMEEABKeys, id, k)
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// EABKeys lists provisioner provID's EAB keys (with reference, only that
// one); the HMAC keys are cleared.
func (s *Service) EABKeys(ctx context.Context, provID, reference string) ([]*EABKey, error) {
	var ids []string
	if reference != "" {
		var r eabReference
		if err := s.load(ctx, store.TableACMEEABReference, eabRefKey(provID, reference), "EAB key reference", &r); err != nil {
			return nil, err
		}
		ids = []string{r.ExternalAccountKeyID}
	} else if err := s.load(ctx, store.TableACMEEABProvIndex, provID, "EAB keys", &ids); err != nil && !isNotFound(err) {
		return nil, err
	}
	out := make([]*EABKey, 0, len(ids))
	for _, id := range ids {
		var k EABKey
		if err := s.load(ctx, store.TableACMEEABKeys, id, "EAB key", &k); err != nil {
			if isNotFound(err) {
				continue
			}
			return nil, err
		}
		k.HmacKey = nil
		out = append(out, &k)
	}
	return out, nil
}

// RemoveEABKey deletes EAB key id of provisioner provID (an account bound
// with it stays).
func (s *Service) RemoveEABKey(ctx context.Context, provID, id string) error {
	return s.d.Store.ACMEUpdate(ctx, func(tx store.ACMETx) error {
		var k EABKey
		if err := s.txLoad(tx, store.TableACMEEABKeys, id, "EAB key", &k); err != nil {
			return err
		}
		if k.ProvisionerID != provID {
			return Problemf(NotFound, "EAB key %s not found", id)
		}
		tx.Delete(store.TableACMEEABKeys, id)
		if k.Reference != "" {
			tx.Delete(store.TableACMEEABReference, eabRefKey(provID, k.Reference))
		}
		var ids []string
		if err := s.txLoad(tx, store.TableACMEEABProvIndex, provID, "EAB keys", &ids); err != nil && !isNotFound(err) {
			return err
		}
		kept := ids[:0]
		for _, x := range ids {
			if x != id {
				kept = append(kept, x)
			}
		}
		return s.txPut(tx, store.TableACMEEABProvIndex, provID, kept)
	})
}

// EABBinder verifies an external account binding (RFC 8555 §7.3.4): a JWS
// with HS256 over the account's JWK, kid an EAB key of provID, url the
// new-account URL. It returns the function CreateAccount runs in its
// transaction to bind the key (once: a bound key is refused).
func EABBinder(provID, url string, accountKey *jose.JSONWebKey, eab []byte) (func(tx store.ACMETx, a *Account) error, error) {
	jws, err := jose.ParseSigned(string(eab), []jose.SignatureAlgorithm{jose.HS256, jose.HS384, jose.HS512})
	if err != nil || len(jws.Signatures) != 1 {
		return nil, Problemf(Malformed, "the externalAccountBinding is not a JWS with a MAC algorithm")
	}
	hdr := jws.Signatures[0].Protected
	if hdr.KeyID == "" || hdr.Nonce != "" || hdr.JSONWebKey != nil {
		return nil, Problemf(Malformed, "the externalAccountBinding header must have a kid, and no nonce or jwk")
	}
	if u, _ := hdr.ExtraHeaders["url"].(string); u != url {
		return nil, Problemf(Unauthorized, "the externalAccountBinding url is not the new-account URL")
	}
	keyID := hdr.KeyID
	return func(tx store.ACMETx, a *Account) error {
		var k EABKey
		if err := txLoad(tx, store.TableACMEEABKeys, keyID, "EAB key", &k); err != nil {
			if isNotFound(err) {
				return Problemf(Unauthorized, "the external account key %q does not exist", keyID)
			}
			return err
		}
		if k.ProvisionerID != provID {
			return Problemf(Unauthorized, "the external account key %q belongs to another provisioner", keyID)
		}
		if k.AccountID != "" {
			return Problemf(Unauthorized, "the external account key %q is already bound to an account", keyID)
		}
		payload, err := jws.Verify(k.HmacKey)
		if err != nil {
			return Problemf(Unauthorized, "the externalAccountBinding signature is invalid")
		}
		var bound jose.JSONWebKey
		if err := json.Unmarshal(payload, &bound); err != nil {
			return Problemf(Malformed, "the externalAccountBinding payload is not a JWK")
		}
		got, err1 := Thumbprint(&bound)
		want, err2 := Thumbprint(accountKey)
		if err1 != nil || err2 != nil || got != want {
			return Problemf(Unauthorized, "the externalAccountBinding does not bind the account's key")
		}
		k.AccountID, k.BoundAt = a.ID, a.CreatedAt
		a.ExternalAccountKeyID = k.ID
		if err := txPut(tx, store.TableACMEEABKeys, k.ID, &k); err != nil {
			return fmt.Errorf("bind EAB key: %w", err)
		}
		return nil
	}, nil
}
