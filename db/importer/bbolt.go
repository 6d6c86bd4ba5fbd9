package importer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// boltPage is how many records one read transaction of a bucket scan reads;
// no transaction stays open while the records are written to the target.
const boltPage = 1000

// boltKV reads step-ca's buckets from a bbolt file, opened read-only.
type boltKV struct {
	db   *bolt.DB
	path string
}

// openBolt opens step-ca's bbolt file read-only. step-ca holds the file
// locked while it runs, so this fails after a second if it still does.
func openBolt(path string) (*boltKV, error) {
	if path == "" {
		return nil, errors.New("open source bbolt database: the file path is empty")
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open source bbolt database %s: %w", path, err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("open source bbolt database %s: it is a directory, want the database file", path)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("open source bbolt database %s: the file is locked: stop the step-ca that uses it", path)
		}
		return nil, fmt.Errorf("open source bbolt database %s: %w", path, err)
	}
	return &boltKV{db: db, path: path}, nil
}

func (b *boltKV) name() string { return "bbolt " + b.path }
func (b *boltKV) close() error { return b.db.Close() }

func (b *boltKV) scan(ctx context.Context, table string, optional bool, fn func(key, value []byte) error) error {
	return b.pages(ctx, table, optional, func(tx *bolt.Tx, k, v []byte) [3][]byte {
		return [3][]byte{k, v, nil}
	}, func(r [3][]byte) error { return fn(r[0], r[1]) })
}

func (b *boltKV) scanCerts(ctx context.Context, fn func(key, der, data []byte) error) error {
	return b.pages(ctx, tableCerts, false, func(tx *bolt.Tx, k, v []byte) [3][]byte {
		var data []byte
		if d := tx.Bucket([]byte(tableCertsData)); d != nil {
			data = d.Get(k)
		}
		return [3][]byte{k, v, data}
	}, func(r [3][]byte) error { return fn(r[0], r[1], r[2]) })
}

func (b *boltKV) tables(context.Context) (map[string]int, error) {
	counts := map[string]int{}
	err := b.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, bk *bolt.Bucket) error {
			counts[string(name)] = bk.Stats().KeyN
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("source %s: count the records of its buckets: %w", b.name(), err)
	}
	return counts, nil
}

// pages reads table in read transactions of boltPage records, row building
// each record (inside the transaction) and fn consuming copies (outside).
func (b *boltKV) pages(ctx context.Context, table string, optional bool, row func(*bolt.Tx, []byte, []byte) [3][]byte, fn func([3][]byte) error) error {
	var after []byte
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var page [][3][]byte
		missing := false
		err := b.db.View(func(tx *bolt.Tx) error {
			bk := tx.Bucket([]byte(table))
			if bk == nil {
				missing = true
				return nil
			}
			c := bk.Cursor()
			k, v := c.First()
			if after != nil {
				k, v = c.Seek(after)
				if k != nil && bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			for ; k != nil && len(page) < boltPage; k, v = c.Next() {
				if v == nil && bk.Bucket(k) != nil {
					continue // a nested bucket, not a record
				}
				r := row(tx, k, v)
				for i := range r {
					if r[i] != nil {
						r[i] = bytes.Clone(r[i])
					}
				}
				page = append(page, r)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("source %s: read bucket %s: %w", b.name(), table, err)
		}
		if missing {
			if optional {
				return nil
			}
			return fmt.Errorf("source %s: bucket %s not found: is this a step-ca database?", b.name(), table)
		}
		for _, r := range page {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(page) < boltPage {
			return nil
		}
		after = page[len(page)-1][0]
	}
}
