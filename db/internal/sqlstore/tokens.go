package sqlstore

import (
	"time"

	"github.com/mayfly-pki/mayfly/db/internal/steplayout"
)

// UsedTokenGrace is how long after its exp a used token's record is kept.
// The authority refuses a token once exp plus its one-minute leeway has
// passed, before it looks the token up, so the record of an expired token
// protects nothing; the grace covers clock adjustments. Same as the Badger
// and bbolt backends.
const UsedTokenGrace = 10 * time.Minute

// PruneBatch bounds the rows one pruning DELETE removes, so that no
// statement holds its locks for long.
const PruneBatch = 1000

// maxExpiry is 9999-12-31T23:59:59Z, the end of MySQL's DATETIME range.
const maxExpiry = 253402300799

// TokenExpiresAt returns the used_ott.expires_at value of token: its exp
// claim (read without verification) as a UTC time, or nil (SQL NULL, a row
// never pruned) when token is not a JWT with a numeric exp, or its exp is
// before 1970 or after year 9999 (outside every SQL server's range).
func TokenExpiresAt(token []byte) any {
	exp, ok := steplayout.TokenExpiry(token)
	if !ok || exp < 0 || exp > maxExpiry {
		return nil
	}
	return time.Unix(exp, 0).UTC()
}

// PruneUsedTokens deletes the used_ott rows whose expires_at is more than
// UsedTokenGrace before now: it calls del(before, PruneBatch), which
// deletes up to that many rows expired before before and returns how many
// it deleted, until a call deletes fewer or fails.
func PruneUsedTokens(now time.Time, del func(before time.Time, limit int) (int, error)) error {
	before := now.Add(-UsedTokenGrace).UTC()
	for {
		n, err := del(before, PruneBatch)
		if err != nil || n < PruneBatch {
			return err
		}
	}
}
