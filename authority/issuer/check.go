package issuer

// Check signs a throw-away certificate with the issuing key and verifies it
// against the intermediate: the key is loaded and usable (a hardware or
// cloud key answers). It is the readiness probe's key check; it writes
// nothing.
func (i *Issuer) Check() error { return i.selfCheck() }
