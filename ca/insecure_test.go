package ca

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"
)

func TestInsecureServer(t *testing.T) {
	t.Parallel()
	s, err := NewInsecureServer("127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "scep")
	}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewInsecureServer(s.Addr().String(), http.NotFoundHandler()); err == nil {
		t.Fatal("a second listener on the same address started")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	resp, err := http.Get("http://" + s.Addr().String() + "/scep/x")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "scep" {
		t.Fatalf("body %q", b)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run did not return after cancel")
	}
}
