package dbtest

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/mayfly-pki/mayfly/authority/store"
)

func testRevokeAndGet(t *testing.T, s store.Store) {
	ctx := context.Background()
	tests := []struct {
		name string
		rev  *store.Revocation
	}{
		{"token revocation", NewRevocation(Serial(10), true)},
		{"zero ExpiresAt", NewRevocation(Serial(11), false)},
		{"mTLS", func() *store.Revocation {
			r := NewRevocation(Serial(12), true)
			r.TokenID, r.MTLS, r.ReasonCode, r.Reason = "", true, 0, ""
			return r
		}()},
		{"ACME", func() *store.Revocation {
			r := NewRevocation(Serial(13), true)
			r.ACME, r.ReasonCode, r.Reason = true, 4, "superseded"
			return r
		}()},
	}
	for _, tc := range tests {
		if err := s.Revoke(ctx, tc.rev); err != nil {
			t.Fatalf("%s: Revoke: %v", tc.name, err)
		}
		got, err := s.GetRevocation(ctx, tc.rev.Serial)
		if err != nil {
			t.Fatalf("%s: GetRevocation: %v", tc.name, err)
		}
		if d := EqualRevocation(tc.rev, got); d != "" {
			t.Fatalf("%s: GetRevocation: %s", tc.name, d)
		}
	}
}

func testGetRevocationNotFound(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.Revoke(ctx, NewRevocation(Serial(20), true)); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if _, err := s.GetRevocation(ctx, Serial(21)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetRevocation of a serial never revoked: err = %v, want ErrNotFound", err)
	}
}

func testRevokeTwice(t *testing.T, s store.Store) {
	ctx := context.Background()
	first := NewRevocation(Serial(30), true)
	if err := s.Revoke(ctx, first); err != nil {
		t.Fatalf("first Revoke: %v", err)
	}
	second := NewRevocation(Serial(30), false)
	second.Reason, second.ReasonCode = "superseded", 4
	if err := s.Revoke(ctx, second); !errors.Is(err, store.ErrAlreadyRevoked) {
		t.Fatalf("second Revoke: err = %v, want ErrAlreadyRevoked", err)
	}
	got, err := s.GetRevocation(ctx, first.Serial)
	if err != nil {
		t.Fatalf("GetRevocation: %v", err)
	}
	if d := EqualRevocation(first, got); d != "" {
		t.Fatalf("the refused second Revoke changed the record: %s", d)
	}
}

func testRevokeConcurrent(t *testing.T, s store.Store) {
	errList := Concurrently(50, func(i int) error {
		r := NewRevocation(Serial(40), true)
		r.Reason = "caller " + strconv.Itoa(i)
		return s.Revoke(context.Background(), r)
	})
	if err := exactlyOne(errList, store.ErrAlreadyRevoked); err != nil {
		t.Fatalf("Revoke of one serial from 50 goroutines: %v", err)
	}
	got, err := s.GetRevocation(context.Background(), Serial(40))
	if err != nil {
		t.Fatalf("GetRevocation: %v", err)
	}
	// The stored record is the winner's.
	winner := -1
	for i, err := range errList {
		if err == nil {
			winner = i
		}
	}
	if want := "caller " + strconv.Itoa(winner); got.Reason != want {
		t.Fatalf("stored revocation has Reason %q, want the successful caller's %q", got.Reason, want)
	}
}
