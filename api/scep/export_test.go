package scep

// Guard runs parse as the server parses PKCS#7 input: one parse at a time
// (go.mozilla.org/pkcs7 keeps a package-level counter while parsing), a
// panic turned into an error. Tests parse the server's answers through it.
func Guard(parse func() error) error { return guard(parse) }
