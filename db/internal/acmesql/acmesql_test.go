package acmesql

import (
	"strings"
	"testing"
	"time"

	"github.com/mayfly-pki/mayfly/authority/store"
)

func TestExtract(t *testing.T) {
	t.Parallel()
	exp := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	orders := For(store.TableACMEOrders)
	for _, tc := range []struct {
		name, value string
		want        []any
	}{
		{"order", `{"id":"o1","accountID":"a1","status":"ready","expiresAt":"2031-01-02T04:04:05+01:00","certificate":"c1"}`,
			[]any{"a1", "ready", exp, "c1"}},
		{"not JSON", `{"accountID":"a1"`, []any{nil, nil, nil, nil}},
		{"not an object", `["a1"]`, []any{nil, nil, nil, nil}},
		{"wrong types keep the others", `{"accountID":1,"status":"ready","expiresAt":"soon"}`, []any{nil, "ready", nil, nil}},
		{"NUL, too long, zero time", `{"accountID":"a\u0000","status":"` + strings.Repeat("s", MaxText+1) + `","expiresAt":"0001-01-01T00:00:00Z"}`,
			[]any{nil, nil, nil, nil}},
		{"case-insensitive names", `{"ACCOUNTID":"a1"}`, []any{"a1", nil, nil, nil}},
	} {
		got := orders.Extract([]byte(tc.value))
		if len(got) != len(tc.want) {
			t.Fatalf("%s: %d values, want %d", tc.name, len(got), len(tc.want))
		}
		for i := range got {
			gt, gok := got[i].(time.Time)
			wt, wok := tc.want[i].(time.Time)
			if gok || wok {
				if !gok || !wok || !gt.Equal(wt) || gt.Location() != time.UTC {
					t.Errorf("%s: %s = %v, want %v (UTC)", tc.name, orders.Columns[i], got[i], tc.want[i])
				}
			} else if got[i] != tc.want[i] {
				t.Errorf("%s: %s = %v, want %v", tc.name, orders.Columns[i], got[i], tc.want[i])
			}
		}
	}
	if For(store.TableACMEKeyIndex).Real() || For(store.TableACMEKeyIndex).Extract([]byte(`{}`)) != nil {
		t.Error("an index table has extracted columns")
	}
	// A nonce without a time counts from its write.
	before := time.Now().UTC()
	if got, ok := For(store.TableACMENonces).Extract([]byte(`{}`))[0].(time.Time); !ok || got.Before(before.Add(-time.Second)) {
		t.Errorf("nonce without CreatedAt: created_at = %v, want about %v", got, before)
	}
}

func FuzzExtract(f *testing.F) {
	f.Add([]byte(`{"id":"x","key":{"kty":"EC","crv":"P-256","x":"AA","y":"AA"},"leaf":"MAMCAQE=","createdAt":"2030-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"leaf":"MIIBADCB`))
	f.Fuzz(func(t *testing.T, v []byte) {
		for _, tab := range RealTables() {
			if got := tab.Extract(v); len(got) != len(tab.Columns) {
				t.Fatalf("%s: %d values for %d columns", tab.Name, len(got), len(tab.Columns))
			}
		}
	})
}
