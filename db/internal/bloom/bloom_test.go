package bloom

import (
	"strconv"
	"testing"
)

func key(i int) string { return "jti-" + strconv.Itoa(i) }

// TestNoFalseNegatives adds keys across several layers and finds each.
func TestNoFalseNegatives(t *testing.T) {
	f := New(0)
	const n = 5 * MinCapacity // three layers: 64 Ki, 128 Ki, 256 Ki
	for i := range n {
		f.Add(key(i))
	}
	if got := len(f.layers); got != 3 {
		t.Fatalf("%d keys made %d layers, want 3", n, got)
	}
	for i := range n {
		if !f.MayContain(key(i)) {
			t.Fatalf("added key %q not found", key(i))
		}
	}
	if added := f.layers[0].n + f.layers[1].n + f.layers[2].n; added != n {
		t.Fatalf("the layers count %d keys, want %d", added, n)
	}
}

// TestFalsePositiveRate fills one layer to its capacity and counts the
// absent keys reported present: about 1% by design.
func TestFalsePositiveRate(t *testing.T) {
	f := New(200_000)
	for i := range 200_000 {
		f.Add(key(i))
	}
	if len(f.layers) != 1 {
		t.Fatalf("%d layers, want 1", len(f.layers))
	}
	fp := 0
	const probes = 200_000
	for i := range probes {
		if f.MayContain(key(1_000_000 + i)) {
			fp++
		}
	}
	rate := float64(fp) / probes
	bytes := 8 * len(f.layers[0].words)
	t.Logf("false positive rate %.3f%%, %d bytes", 100*rate, bytes)
	if rate > 0.02 {
		t.Fatalf("false positive rate %.3f%%, want about 1%%", 100*rate)
	}
	if bytes > 200_000*bitsPerKey/8+bitsPerBlock/8 {
		t.Fatalf("%d bytes for 200,000 keys", bytes)
	}
}

func TestEmpty(t *testing.T) {
	f := New(10)
	for i := range 1000 {
		if f.MayContain(key(i)) {
			t.Fatalf("empty filter contains %q", key(i))
		}
	}
}

func BenchmarkMayContain(b *testing.B) {
	f := New(1 << 20)
	for i := range 1 << 20 {
		f.Add(key(i))
	}
	k := "7d5c9b3e1f0a4c2b8e6d4f2a0c8e6b4d2f0a8c6e4b2d0f8a6c4e2b0d8f6a4c2e"
	b.ReportAllocs()
	for b.Loop() {
		f.MayContain(k)
	}
}
