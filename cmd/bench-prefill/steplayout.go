package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	badgerv2 "github.com/dgraph-io/badger/v2"
	badgerdb "github.com/dgraph-io/badger/v4"
)

// stepLayout is `bench-prefill step-layout --from DIR --to DIR`: it copies
// every record of a Mayfly Badger directory (the CA stopped) into a new
// Badger v2 directory written as step-ca writes its default database
// (badger/v2 DefaultOptions, one transaction per used token and one per
// certificate with its data record), so that the disk step-ca's layout
// needs for the same records can be measured next to Mayfly's.
func stepLayout(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench-prefill step-layout", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var from, to string
	var workers int
	fs.StringVar(&from, "from", "", "Mayfly's Badger database directory (required; the CA must be stopped)")
	fs.StringVar(&to, "to", "", "new directory for the Badger v2 copy (required; must not exist)")
	fs.IntVar(&workers, "c", 16, "concurrent writers")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if from == "" || to == "" || fs.NArg() > 0 {
		return errors.New("step-layout: --from and --to are required, and nothing else")
	}
	if _, err := os.Stat(to); err == nil {
		return fmt.Errorf("step-layout: %s exists; give a new directory", to)
	}
	src, err := badgerdb.Open(badgerdb.DefaultOptions(from).WithLogger(nil).WithReadOnly(true).
		WithMemTableSize(16 << 20))
	if err != nil {
		return fmt.Errorf("step-layout: open %s: %w", from, err)
	}
	defer src.Close()
	dst, err := badgerv2.Open(badgerv2.DefaultOptions(to).WithLogger(nil))
	if err != nil {
		return fmt.Errorf("step-layout: create %s: %w", to, err)
	}
	start := time.Now()
	n, err := copyToV2(ctx, src, dst, max(1, workers))
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("step-layout: %w", err)
	}
	fmt.Fprintf(stderr, "bench-prefill: step-layout: %d transactions copied into %s in %v\n", n, to, time.Since(start).Round(time.Millisecond))
	return nil
}

// copyToV2 writes src's records into dst, a transaction per group of
// records step-ca writes together: x509_certs with the x509_certs_data
// record of the same serial, every other record alone.
func copyToV2(ctx context.Context, src *badgerdb.DB, dst *badgerv2.DB, workers int) (int, error) {
	type kv struct{ k, v []byte }
	jobs := make(chan []kv, 1024)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for group := range jobs {
				err := dst.Update(func(txn *badgerv2.Txn) error {
					for _, e := range group {
						if err := txn.Set(e.k, e.v); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					mu.Lock()
					first = errors.Join(first, err)
					mu.Unlock()
				}
			}
		}()
	}
	// Table prefixes u16le(len(table)) || table; a record adds
	// u16le(len(key)) || key.
	certs := []byte("\x0a\x00x509_certs")
	dataTable := []byte("\x0f\x00x509_certs_data")
	n := 0
	err := src.View(func(txn *badgerdb.Txn) error {
		it := txn.NewIterator(badgerdb.DefaultIteratorOptions)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			item := it.Item()
			k := item.KeyCopy(nil)
			if bytes.HasPrefix(k, dataTable) {
				continue // written with its x509_certs record
			}
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			group := []kv{{k, v}}
			if bytes.HasPrefix(k, certs) && len(k) > len(certs) {
				dk := append(bytes.Clone(dataTable), k[len(certs):]...)
				if di, err := txn.Get(dk); err == nil {
					dv, err := di.ValueCopy(nil)
					if err != nil {
						return err
					}
					group = append(group, kv{dk, dv})
				}
			}
			jobs <- group
			n++
		}
		return nil
	})
	close(jobs)
	wg.Wait()
	return n, errors.Join(err, first)
}
