package acme

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// TestDecodeMemo: a remembered record decodes to what json.Unmarshal
// gives, as an independent copy; changed bytes are decoded again; other
// types are not remembered; the memo stays within its bound.
func TestDecodeMemo(t *testing.T) {
	d := newDecodeMemo(2)
	o := &Order{ID: "o1", AccountID: "a", Identifiers: []Identifier{{Type: "dns", Value: "a.test"}},
		AuthorizationIDs: []string{"z1"}, Status: StatusPending, CreatedAt: time.Unix(1700000000, 0).UTC(),
		Error: &ProblemJSON{Type: "t", Subproblems: []Subproblem{{Type: "s"}}}}
	raw, _ := json.Marshal(o)
	d.encoded("orders", "o1", raw, o)
	o.AuthorizationIDs[0] = "changed after put" // the memo kept its own copy

	var want Order
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	var got Order
	if err := d.decode("orders", "o1", raw, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("memo gave %+v, json gives %+v", got, want)
	}
	got.AuthorizationIDs[0] = "mutated"
	got.Error.Subproblems[0].Type = "mutated"
	var again Order
	if err := d.decode("orders", "o1", raw, &again); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again, want) {
		t.Fatalf("a caller's change reached the memo: %+v", again)
	}

	// Other bytes under the same key are decoded, not taken from the memo.
	o2 := want
	o2.Status = StatusValid
	raw2, _ := json.Marshal(&o2)
	var got2 Order
	if err := d.decode("orders", "o1", raw2, &got2); err != nil || got2.Status != StatusValid {
		t.Fatalf("changed record: %v %+v", err, got2)
	}
	// Bad bytes fail as json.Unmarshal does.
	if err := d.decode("orders", "o1", []byte("{"), &got2); err == nil {
		t.Fatal("truncated JSON decoded")
	}
	// Lists are not remembered (callers edit them in place).
	var ids []string
	if err := d.decode("index", "a", []byte(`["x"]`), &ids); err != nil || len(ids) != 1 {
		t.Fatal(err, ids)
	}
	d.mu.RLock()
	_, kept := d.m[memoKey{"index", "a"}]
	d.mu.RUnlock()
	if kept {
		t.Fatal("a list was remembered")
	}
	for _, k := range []string{"x", "y", "z"} {
		d.encoded("challenges", k, []byte(`{}`), &Challenge{ID: k})
	}
	if n := len(d.m); n > 2 {
		t.Fatalf("memo holds %d records, bound 2", n)
	}
}
