package linger

import (
	"slices"
	"testing"
	"time"
)

// item is a queued write; waited marks one a caller blocks on.
type item struct {
	id     int
	waited bool
}

func waits(it item) bool { return it.waited }

func ids(batch []item) []int {
	var out []int
	for _, it := range batch {
		out = append(out, it.id)
	}
	return out
}

func TestFillTakesWhatIsQueued(t *testing.T) {
	ch := make(chan item, 8)
	for i := 2; i <= 4; i++ {
		ch <- item{id: i, waited: true}
	}
	// No writer announced: nothing to wait for, even with a window.
	g := New(time.Hour)
	got := Fill(g, ch, []item{{id: 1, waited: true}}, 16, waits)
	if !slices.Equal(ids(got), []int{1, 2, 3, 4}) {
		t.Fatalf("batch %v, want [1 2 3 4]", ids(got))
	}
	// A nil gate behaves the same.
	ch <- item{id: 5}
	if got := Fill(nil, ch, nil, 16, waits); !slices.Equal(ids(got), []int{5}) {
		t.Fatalf("nil gate: batch %v, want [5]", ids(got))
	}
}

func TestFillStopsAtMaxBatch(t *testing.T) {
	ch := make(chan item, 8)
	for i := 2; i <= 6; i++ {
		ch <- item{id: i, waited: true}
	}
	g := New(time.Hour)
	done := g.Expect()
	defer done()
	for range 8 {
		defer g.Expect()()
	}
	got := Fill(g, ch, []item{{id: 1, waited: true}}, 3, waits)
	if !slices.Equal(ids(got), []int{1, 2, 3}) {
		t.Fatalf("batch %v, want [1 2 3]", ids(got))
	}
	if len(ch) != 3 {
		t.Fatalf("%d items left queued, want 3", len(ch))
	}
}

// A lone writer whose write is in the batch is not kept waiting: Fill
// returns at once although the window is an hour.
func TestFillLoneWriterDoesNotWait(t *testing.T) {
	g := New(time.Hour)
	done := g.Expect()
	defer done()
	ch := make(chan item, 1)
	got := Fill(g, ch, []item{{id: 1, waited: true}}, 16, waits)
	if !slices.Equal(ids(got), []int{1}) {
		t.Fatalf("batch %v", ids(got))
	}
}

// With a second writer announced, Fill waits for its write and returns once
// it has arrived (the hour-long window is never reached).
func TestFillWaitsForAnnouncedWriter(t *testing.T) {
	g := New(time.Hour)
	a, b := g.Expect(), g.Expect()
	defer a()
	defer b()
	ch := make(chan item, 4)
	go func() {
		time.Sleep(5 * time.Millisecond)
		// An ordered (not waited) write does not end the wait...
		ch <- item{id: 2}
		// ...the announced writer's waited one does.
		ch <- item{id: 3, waited: true}
	}()
	got := Fill(g, ch, []item{{id: 1, waited: true}}, 16, waits)
	if !slices.Equal(ids(got), []int{1, 2, 3}) {
		t.Fatalf("batch %v, want [1 2 3]", ids(got))
	}
}

// A writer that ends without writing (a refused request) releases the
// batch.
func TestFillWriterGivesUp(t *testing.T) {
	g := New(time.Hour)
	a, b := g.Expect(), g.Expect()
	defer a()
	ch := make(chan item, 1)
	go func() {
		time.Sleep(5 * time.Millisecond)
		b()
		b() // a second call is harmless
	}()
	got := Fill(g, ch, []item{{id: 1, waited: true}}, 16, waits)
	if !slices.Equal(ids(got), []int{1}) {
		t.Fatalf("batch %v, want [1]", ids(got))
	}
	if n := g.expected.Load(); n != 1 {
		t.Fatalf("expected writers = %d after one done (called twice), want 1", n)
	}
}

// An announced writer that never writes holds the batch only for the window.
func TestFillWindowBounds(t *testing.T) {
	g := New(20 * time.Millisecond)
	a, b := g.Expect(), g.Expect()
	defer a()
	defer b()
	ch := make(chan item, 1)
	start := time.Now()
	got := Fill(g, ch, []item{{id: 1, waited: true}}, 16, waits)
	if !slices.Equal(ids(got), []int{1}) {
		t.Fatalf("batch %v", ids(got))
	}
	if waited := time.Since(start); waited < 20*time.Millisecond {
		t.Fatalf("returned after %v, before the window", waited)
	}
	// The timer is reusable: the next Fill waits again.
	start = time.Now()
	Fill(g, ch, []item{{id: 2, waited: true}}, 16, waits)
	if waited := time.Since(start); waited < 20*time.Millisecond {
		t.Fatalf("second Fill returned after %v, before the window", waited)
	}
}

func TestFillClosedQueue(t *testing.T) {
	g := New(time.Hour)
	a, b := g.Expect(), g.Expect()
	defer a()
	defer b()
	ch := make(chan item, 2)
	ch <- item{id: 2, waited: true}
	close(ch)
	got := Fill(g, ch, []item{{id: 1}}, 16, waits)
	if !slices.Equal(ids(got), []int{1, 2}) {
		t.Fatalf("batch %v, want [1 2]", ids(got))
	}
	// Negative window: never waits.
	z := New(-1)
	defer z.Expect()()
	if got := Fill(z, make(chan item), []item{{id: 1, waited: true}}, 16, waits); len(got) != 1 {
		t.Fatalf("zero window batch %v", ids(got))
	}
}
