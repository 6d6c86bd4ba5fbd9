// Package queued turns the answer channel of a write queued without waiting
// (store.QueuedCertificates) into the wait function the caller gets.
package queued

import (
	"context"
	"fmt"
	"sync"
)

// Wait returns a function that waits for the one answer done will receive
// (what names the write in a ctx error) and returns it; called again, it
// returns the same answer. A ctx that ends first returns ctx's error and
// leaves the answer to a later call.
func Wait(done <-chan error, what string) func(context.Context) error {
	var mu sync.Mutex
	var answered bool
	var answer error
	return func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if answered {
			return answer
		}
		select {
		case answer = <-done:
			answered = true
			return answer
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (the write may still complete)", what, ctx.Err())
		}
	}
}
