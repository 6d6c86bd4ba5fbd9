package acme

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/mayfly-pki/mayfly/authority/store"
)

// Challenge returns challenge id of authorization azID, of account accID.
func (s *Service) Challenge(ctx context.Context, accID, azID, id string) (*Challenge, error) {
	var ch Challenge
	if err := s.load(ctx, store.TableACMEChallenges, id, "challenge", &ch); err != nil {
		return nil, err
	}
	if ch.AccountID != accID {
		return nil, Problemf(Unauthorized, "account %s does not own challenge %s", accID, id)
	}
	if ch.AuthzID != "" && ch.AuthzID != azID {
		return nil, Problemf(NotFound, "challenge %s not found", id)
	}
	return &ch, nil
}

// ValidateChallenge answers a client's "ready" POST to a challenge (RFC
// 8555 §7.5.1): a pending challenge is checked at once by the validator
// (bounded in time) and becomes valid, with its authorization, or invalid
// with the validator's problem, which invalidates the authorization. A
// failure that may be transient (a connection refused, DNS, TLS) makes it
// processing instead, retried in the background (§8.2, retry.go). A
// challenge already decided, or being retried, is returned unchanged.
func (s *Service) ValidateChallenge(ctx context.Context, acc *Account, azID, id string, allowed func(string) bool) (*Challenge, error) {
	ch, err := s.Challenge(ctx, acc.ID, azID, id)
	if err != nil {
		return nil, err
	}
	if ch.Status != StatusPending && ch.Status != StatusProcessing {
		return ch, nil
	}
	if ch.AuthzID == "" {
		ch.AuthzID = azID // step-ca's records do not name it (imported data)
	}
	var az Authz
	if err := s.load(ctx, store.TableACMEAuthzs, ch.AuthzID, "authorization", &az); err != nil {
		return nil, err
	}
	if az.AccountID != acc.ID || !slices.Contains(az.ChallengeIDs, id) {
		return nil, Problemf(NotFound, "challenge %s not found", id)
	}
	if st := authzStatus(&az, s.now()); st != StatusPending {
		return nil, Problemf(Malformed, "authorization %s is %s", az.ID, st)
	}
	if allowed != nil && !allowed(ch.Type) {
		return nil, Problemf(Unauthorized, "challenge type %s is not enabled for this provisioner", ch.Type)
	}
	if ch.Status == StatusProcessing && s.retries.inFlight(ch.ID) {
		return ch, nil // being retried in the background (retry.go)
	}
	ka, err := KeyAuthorization(ch.Token, acc.Key)
	if err != nil {
		return nil, err
	}
	req := ValidationRequest{
		Type: ch.Type, Identifier: Identifier{Type: az.Identifier.Type, Value: ch.Value}, Token: ch.Token, KeyAuthorization: ka,
	}
	verr := s.d.Validator.Validate(ctx, req)
	if verr != nil {
		// A retryable failure: processing, retried in the background.
		if out, handled, err := s.retryLater(ctx, ch, az.ID, req, verr); handled {
			return out, err
		}
	}
	var out *Challenge
	err = s.d.Store.ACMEUpdate(ctx, func(tx store.ACMETx) error {
		var cur Challenge
		if err := s.txLoad(tx, store.TableACMEChallenges, id, "challenge", &cur); err != nil {
			return err
		}
		var a Authz
		if err := s.txLoad(tx, store.TableACMEAuthzs, az.ID, "authorization", &a); err != nil {
			return err
		}
		out = &cur
		if cur.Status != StatusPending && cur.Status != StatusProcessing {
			return nil // decided meanwhile by a concurrent request
		}
		if verr != nil {
			cur.Status = StatusInvalid
			cur.Error = challengeProblem(verr)
			if a.Status == StatusPending {
				a.Status = StatusInvalid
				a.Error = cur.Error
			}
		} else {
			cur.Status = StatusValid
			cur.ValidatedAt = s.now().Format(time.RFC3339)
			cur.Error = nil
			if a.Status == StatusPending {
				a.Status = StatusValid
			}
		}
		if err := s.txPut(tx, store.TableACMEChallenges, id, &cur); err != nil {
			return err
		}
		return s.txPut(tx, store.TableACMEAuthzs, a.ID, &a)
	})
	if err != nil {
		return nil, err
	}
	if verr != nil && s.d.Logger != nil {
		s.d.Logger.WithFields(logrus.Fields{"challenge": id, "type": ch.Type, "identifier": ch.Value}).
			WithError(verr).Info("acme challenge failed")
	}
	return out, nil
}

// challengeProblem is the problem stored on a failed challenge.
func challengeProblem(err error) *ProblemJSON {
	t := string(IncorrectResponse)
	var ft FailureTyper
	if errors.As(err, &ft) {
		t = ft.ProblemType()
	}
	return &ProblemJSON{Type: ProblemPrefix + t, Detail: err.Error()}
}
