package reserve

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

func TestReserve(t *testing.T) {
	t.Parallel()
	s := New()
	no := func() (bool, error) { return false, nil }
	if ok, err := s.Reserve("a", no); !ok || err != nil {
		t.Fatalf("first Reserve(a) = %v, %v; want true", ok, err)
	}
	if ok, err := s.Reserve("a", func() (bool, error) { t.Fatal("committed checked for a reserved key"); return false, nil }); ok || err != nil {
		t.Fatalf("second Reserve(a) = %v, %v; want false, nil", ok, err)
	}
	if ok, err := s.Reserve("b", func() (bool, error) { return true, nil }); ok || err != nil {
		t.Fatalf("Reserve of a committed key = %v, %v; want false, nil", ok, err)
	}
	boom := errors.New("disk on fire")
	if ok, err := s.Reserve("c", func() (bool, error) { return false, boom }); ok || !errors.Is(err, boom) {
		t.Fatalf("Reserve with a failing check = %v, %v; want false, %v", ok, err, boom)
	}
	if n := s.Len(); n != 1 {
		t.Fatalf("Len = %d, want 1 (only a)", n)
	}
	s.Release("a")
	s.Release("never reserved")
	if ok, _ := s.Reserve("a", no); !ok {
		t.Fatal("Reserve(a) after Release refused")
	}
}

// Of many concurrent reservations of one key, exactly one wins.
func TestReserveConcurrent(t *testing.T) {
	t.Parallel()
	s := New()
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, _ := s.Reserve("k", func() (bool, error) { return false, nil }); ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Fatalf("%d reservations of one key succeeded, want 1", n)
	}
}
