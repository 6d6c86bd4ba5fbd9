package provisioner

import "github.com/mayfly-pki/mayfly/provisioner/token"

// TokenReuser is implemented by provisioners whose tokens are not all used
// once under token.ReuseKey (wire-spec §4.10): UsedKey returns the used_ott
// key of tok, already verified by the provisioner, and record false when
// the token may be presented again (step-ca records no K8sSA token; Azure
// without trust on first use). The cloud identity types record one key per
// instance (trust on first use), so an instance gets one certificate. The
// authority records the key once the provisioner accepted the token. Keys
// must be bounded: a prefix and a hash.
type TokenReuser interface {
	UsedKey(tok *token.Token) (key string, record bool)
}
