package queued

import (
	"context"
	"errors"
	"testing"
)

func TestWait(t *testing.T) {
	done := make(chan error, 1)
	wait := Wait(done, "store certificate 1")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("before the answer, with ctx done: %v, want context.Canceled", err)
	}
	boom := errors.New("boom")
	done <- boom
	for i := 0; i < 2; i++ {
		if err := wait(context.Background()); !errors.Is(err, boom) {
			t.Fatalf("call %d: %v, want the answer", i, err)
		}
	}
	// Once answered, a done ctx does not hide the answer.
	if err := wait(ctx); !errors.Is(err, boom) {
		t.Fatalf("answered, ctx done: %v, want the answer", err)
	}
}
