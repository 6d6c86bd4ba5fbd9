package authority

// Health returns nil when the CA can sign, else the errs.Unavailable of the
// key manager that is down (the last signature through it failed or timed
// out; it recovers on the next success), or, for a registration authority,
// of the upstream CA that does not answer. /health reports it.
func (a *Authority) Health() error {
	if err := a.upstreamHealth(); err != nil {
		return err
	}
	if a.keyHealth == nil {
		return nil
	}
	return a.keyHealth()
}
