// Package policy is the X.509 name allow/deny engine of authority.policy
// (wire-spec §7.3), with step-ca's semantics (RFC 5280 name-constraint
// style):
//
//   - a name matched by a deny rule is refused (deny wins over allow);
//   - when any allow rule exists (of any type), every name must match an
//     allow rule of its own type: a type with no allow rules is refused;
//   - DNS rules: "example.com" matches that name only; "*.example.com" (or
//     ".example.com") matches exactly one more label ("a.example.com", not
//     "example.com" nor "a.b.example.com"). Names and rules compare
//     case-insensitively, without a trailing dot, as IDNA A-labels;
//   - a requested wildcard name ("*.example.com") matches no rule unless
//     allowWildcardNames is set, as in step-ca: with allow rules it is
//     refused; with deny rules only it is not denied;
//   - IP rules: an address or a CIDR range;
//   - email rules: a full mailbox ("u@example.com"), "@example.com" or
//     "example.com" for any mailbox at that host, ".example.com" for any
//     mailbox at a subdomain;
//   - URI rules match the URI's host as DNS rules do;
//   - the subject common name is allowed by a matching cn rule; otherwise
//     it is checked as the name it looks like (IP, email, URI or DNS name).
//
// Lookups are indexed (maps keyed by name, by parent domain and by masked
// prefix), so the cost per name does not grow with the number of rules.
// The package imports only the standard library, x/net/idna and internal/*.
package policy

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"sort"
	"strings"

	"golang.org/x/net/idna"
)

// Names are the rules of one allow or deny list (ca.json's "allow"/"deny").
type Names struct {
	CommonNames []string `json:"cn,omitempty"`
	DNSDomains  []string `json:"dns,omitempty"`
	IPRanges    []string `json:"ip,omitempty"`
	Emails      []string `json:"email,omitempty"`
	URIDomains  []string `json:"uri,omitempty"`
}

// X509Options is authority.policy.x509.
type X509Options struct {
	Allow              *Names `json:"allow,omitempty"`
	Deny               *Names `json:"deny,omitempty"`
	AllowWildcardNames bool   `json:"allowWildcardNames,omitempty"`
}

// Name types, as step-ca names them in its messages.
const (
	CN    = "cn"
	DNS   = "dns"
	IP    = "ip"
	Email = "email"
	URI   = "uri"
)

// Refusal is a name the policy does not allow. Error() is step-ca's
// message; Rule names the deny rule that matched ("" when no allow rule
// matched).
type Refusal struct {
	Type string
	Name string
	Rule string
	// Unparsable is set when the name could not be parsed as its type.
	Unparsable bool
}

func (r *Refusal) Error() string {
	if r.Unparsable {
		return fmt.Sprintf("cannot parse %s name %q", r.Type, r.Name)
	}
	return fmt.Sprintf("%s name %q not allowed", r.Type, r.Name)
}

// Reason describes the refusal for the log: the deny rule that matched, or
// that no allow rule matched.
func (r *Refusal) Reason() string {
	switch {
	case r.Unparsable:
		return "unparsable name"
	case r.Rule != "":
		return "denied by rule " + r.Rule
	default:
		return "no allow rule matches"
	}
}

// RuleError is a rule New refuses; Path is its place under the x509 block
// ("allow.dns[0]").
type RuleError struct {
	Path string
	Msg  string
}

func (e *RuleError) Error() string { return e.Path + ": " + e.Msg }

func ruleErr(list, field string, i int, err error) error {
	return &RuleError{Path: fmt.Sprintf("%s.%s[%d]", list, field, i), Msg: err.Error()}
}

// set is one compiled allow or deny list.
type set struct {
	n        int
	cn       map[string]string
	dnsExact map[string]string // name → rule
	dnsWild  map[string]string // parent → rule ("*.parent")
	uriExact map[string]string
	uriWild  map[string]string
	ips      ipSet
	mailbox  map[string]string // "local@host" → rule
	mailHost map[string]string // host → rule
	mailSub  map[string]string // parent domain → rule (".parent")
	types    int               // bitmask of types with at least one rule
}

const (
	bitCN = 1 << iota
	bitDNS
	bitIP
	bitEmail
	bitURI
)

// ipSet indexes addresses and prefixes by prefix length.
type ipSet struct {
	bits   []int // distinct prefix lengths, longest first
	byBits map[int]map[netip.Prefix]string
}

func (s *ipSet) add(p netip.Prefix, rule string) {
	if s.byBits == nil {
		s.byBits = map[int]map[netip.Prefix]string{}
	}
	m := s.byBits[p.Bits()+boolInt(p.Addr().Is6())*1000]
	if m == nil {
		m = map[netip.Prefix]string{}
		s.byBits[p.Bits()+boolInt(p.Addr().Is6())*1000] = m
		s.bits = append(s.bits, p.Bits()+boolInt(p.Addr().Is6())*1000)
		sort.Sort(sort.Reverse(sort.IntSlice(s.bits)))
	}
	m[p.Masked()] = rule
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *ipSet) match(a netip.Addr) (string, bool) {
	a = a.Unmap()
	v6 := boolInt(a.Is6()) * 1000
	for _, k := range s.bits {
		if k/1000*1000 != v6 {
			continue
		}
		p, err := a.Prefix(k - v6)
		if err != nil {
			continue
		}
		if r, ok := s.byBits[k][p]; ok {
			return r, true
		}
	}
	return "", false
}

// Engine is a compiled X.509 policy. A nil *Engine allows everything.
type Engine struct {
	allow, deny    *set
	allowWildcards bool
}

// New compiles o; a nil o, or one with no rules, gives a nil engine (no
// policy: nothing to check, nothing allocated per request).
func New(o *X509Options) (*Engine, error) {
	if o == nil {
		return nil, nil
	}
	allow, err := compile("allow", o.Allow)
	if err != nil {
		return nil, err
	}
	deny, err := compile("deny", o.Deny)
	if err != nil {
		return nil, err
	}
	if allow == nil && deny == nil {
		return nil, nil
	}
	return &Engine{allow: allow, deny: deny, allowWildcards: o.AllowWildcardNames}, nil
}

func compile(list string, n *Names) (*set, error) {
	if n == nil {
		return nil, nil
	}
	s := &set{
		cn: map[string]string{}, dnsExact: map[string]string{}, dnsWild: map[string]string{},
		uriExact: map[string]string{}, uriWild: map[string]string{},
		mailbox: map[string]string{}, mailHost: map[string]string{}, mailSub: map[string]string{},
	}
	for i, r := range n.CommonNames {
		if r == "" {
			return nil, ruleErr(list, "cn", i, errors.New("must not be empty"))
		}
		s.cn[r] = "cn:" + r
		s.types |= bitCN
		s.n++
	}
	for i, r := range n.DNSDomains {
		if err := addDomain(s.dnsExact, s.dnsWild, r, "dns:"+r); err != nil {
			return nil, ruleErr(list, "dns", i, err)
		}
		s.types |= bitDNS
		s.n++
	}
	for i, r := range n.URIDomains {
		if strings.Contains(r, "://") {
			return nil, ruleErr(list, "uri", i, fmt.Errorf("%q: uri rules name a domain, not a URL", r))
		}
		if err := addDomain(s.uriExact, s.uriWild, r, "uri:"+r); err != nil {
			return nil, ruleErr(list, "uri", i, err)
		}
		s.types |= bitURI
		s.n++
	}
	for i, r := range n.IPRanges {
		p, err := parseIPRule(r)
		if err != nil {
			return nil, ruleErr(list, "ip", i, err)
		}
		s.ips.add(p, "ip:"+r)
		s.types |= bitIP
		s.n++
	}
	for i, r := range n.Emails {
		if err := addEmail(s, r); err != nil {
			return nil, ruleErr(list, "email", i, err)
		}
		s.types |= bitEmail
		s.n++
	}
	if s.n == 0 {
		return nil, nil
	}
	return s, nil
}

func parseIPRule(r string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(r); err == nil && a.Zone() == "" {
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(r)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is neither an IP address nor a CIDR range", r)
	}
	if p.Addr().Is4In6() {
		a := p.Addr().Unmap()
		if p.Bits() < 96 {
			return netip.Prefix{}, fmt.Errorf("%q: IPv4-mapped range shorter than /96", r)
		}
		p = netip.PrefixFrom(a, p.Bits()-96)
	}
	return p.Masked(), nil
}

func addDomain(exact, wild map[string]string, r, rule string) error {
	d := r
	isWild := false
	switch {
	case strings.HasPrefix(d, "*."):
		d, isWild = d[2:], true
	case strings.HasPrefix(d, "."):
		d, isWild = d[1:], true
	}
	if strings.Contains(d, "*") {
		return fmt.Errorf("%q: a wildcard is only allowed as the first label (\"*.example.com\")", r)
	}
	n, ok := normalizeDomain(d)
	if !ok {
		return fmt.Errorf("%q is not a valid domain", r)
	}
	if isWild {
		wild[n] = rule
	} else {
		exact[n] = rule
	}
	return nil
}

func addEmail(s *set, r string) error {
	if r == "" || strings.ContainsAny(r, "* \t\r\n") {
		return fmt.Errorf("%q is not a valid email rule", r)
	}
	local, host, hasAt := strings.Cut(r, "@")
	if !hasAt {
		host = r
	}
	sub := strings.HasPrefix(host, ".")
	h, ok := normalizeDomain(strings.TrimPrefix(host, "."))
	if !ok || strings.Contains(host, "@") {
		return fmt.Errorf("%q has an invalid domain", r)
	}
	rule := "email:" + r
	switch {
	case hasAt && local != "":
		if sub {
			return fmt.Errorf("%q: a mailbox rule names one host", r)
		}
		s.mailbox[local+"@"+h] = rule
	case sub:
		s.mailSub[h] = rule
	default:
		s.mailHost[h] = rule
	}
	return nil
}

// normalizeDomain lowercases d, drops one trailing dot and converts it to
// IDNA A-labels. ASCII names take a fast path without allocating when
// already lower case. "*" is accepted as a first label.
func normalizeDomain(d string) (string, bool) {
	d = strings.TrimSuffix(d, ".")
	if d == "" || len(d) > 253 || d[0] == '.' || strings.Contains(d, "..") {
		return "", false
	}
	ascii, lower := true, true
	for i := 0; i < len(d); i++ {
		c := d[i]
		switch {
		case c >= 0x80:
			ascii = false
		case c >= 'A' && c <= 'Z':
			lower = false
		case c == ' ' || c == '@' || c == '/' || c == ':':
			return "", false
		}
	}
	if !ascii {
		a, err := idna.Lookup.ToASCII(d)
		if err != nil {
			// The lenient profile keeps names idna's strict lookup refuses
			// (underscores); a name it cannot convert is refused.
			if a, err = idna.Punycode.ToASCII(d); err != nil {
				return "", false
			}
		}
		d = strings.ToLower(a)
	} else if !lower {
		d = strings.ToLower(d)
	}
	return d, true
}

// active reports whether the engine has rules (a nil engine has none).
func (e *Engine) active() bool { return e != nil }

// CheckCertificate checks the common name and every SAN of c.
func (e *Engine) CheckCertificate(c *x509.Certificate) error {
	if !e.active() {
		return nil
	}
	if err := e.checkCN(c.Subject.CommonName); err != nil {
		return err
	}
	for _, d := range c.DNSNames {
		if err := e.CheckDNS(d); err != nil {
			return err
		}
	}
	for _, ip := range c.IPAddresses {
		if err := e.CheckIP(ip); err != nil {
			return err
		}
	}
	for _, m := range c.EmailAddresses {
		if err := e.CheckEmail(m); err != nil {
			return err
		}
	}
	for _, u := range c.URIs {
		if err := e.CheckURI(u); err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) checkCN(cn string) error {
	if cn == "" {
		return nil
	}
	if e.deny != nil {
		if r, ok := e.deny.cn[cn]; ok {
			return &Refusal{Type: CN, Name: cn, Rule: r}
		}
	}
	if e.allow != nil {
		if _, ok := e.allow.cn[cn]; ok {
			return nil
		}
	}
	// Checked as the name it looks like.
	if a, err := netip.ParseAddr(cn); err == nil {
		return e.checkIPAddr(a, cn)
	}
	if strings.Contains(cn, "@") {
		return e.CheckEmail(cn)
	}
	if strings.Contains(cn, "://") {
		if u, err := url.Parse(cn); err == nil && u.Host != "" {
			return e.CheckURI(u)
		}
	}
	if _, ok := normalizeDomain(strings.TrimPrefix(cn, "*.")); ok {
		return e.CheckDNS(cn)
	}
	if e.allow != nil {
		return &Refusal{Type: CN, Name: cn}
	}
	return nil
}

// CheckDNS checks one DNS name.
func (e *Engine) CheckDNS(name string) error {
	if !e.active() {
		return nil
	}
	return e.checkDomain(DNS, name, bitDNS, func(s *set) (map[string]string, map[string]string) { return s.dnsExact, s.dnsWild })
}

func (e *Engine) checkDomain(typ, name string, bit int, maps func(*set) (map[string]string, map[string]string)) error {
	wildcard := strings.HasPrefix(name, "*.")
	n, ok := normalizeDomain(strings.TrimPrefix(name, "*."))
	if !ok || strings.Contains(n, "*") {
		return &Refusal{Type: typ, Name: name, Unparsable: true}
	}
	if wildcard && !e.allowWildcards {
		// step-ca: a literal wildcard matches no rule.
		if e.allow != nil {
			return &Refusal{Type: typ, Name: name}
		}
		return nil
	}
	if wildcard {
		n = "*." + n
	}
	if e.deny != nil && e.deny.types&bit != 0 {
		ex, wi := maps(e.deny)
		if r, ok := matchDomain(ex, wi, n); ok {
			return &Refusal{Type: typ, Name: name, Rule: r}
		}
	}
	if e.allow != nil {
		ex, wi := maps(e.allow)
		if _, ok := matchDomain(ex, wi, n); !ok {
			return &Refusal{Type: typ, Name: name}
		}
	}
	return nil
}

func matchDomain(exact, wild map[string]string, n string) (string, bool) {
	if r, ok := exact[n]; ok {
		return r, true
	}
	if i := strings.IndexByte(n, '.'); i > 0 {
		if r, ok := wild[n[i+1:]]; ok {
			return r, true
		}
	}
	return "", false
}

// CheckIP checks one IP address.
func (e *Engine) CheckIP(ip net.IP) error {
	if !e.active() {
		return nil
	}
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return &Refusal{Type: IP, Name: ip.String(), Unparsable: true}
	}
	return e.checkIPAddr(a, "")
}

func (e *Engine) checkIPAddr(a netip.Addr, shown string) error {
	a = a.Unmap()
	name := func() string {
		if shown != "" {
			return shown
		}
		return a.String()
	}
	if e.deny != nil && e.deny.types&bitIP != 0 {
		if r, ok := e.deny.ips.match(a); ok {
			return &Refusal{Type: IP, Name: name(), Rule: r}
		}
	}
	if e.allow != nil {
		if _, ok := e.allow.ips.match(a); !ok {
			return &Refusal{Type: IP, Name: name()}
		}
	}
	return nil
}

// CheckEmail checks one email address.
func (e *Engine) CheckEmail(m string) error {
	if !e.active() {
		return nil
	}
	i := strings.LastIndexByte(m, '@')
	if i <= 0 || i == len(m)-1 {
		return &Refusal{Type: Email, Name: m, Unparsable: true}
	}
	host, ok := normalizeDomain(m[i+1:])
	if !ok {
		return &Refusal{Type: Email, Name: m, Unparsable: true}
	}
	local := m[:i]
	match := func(s *set) (string, bool) {
		if s.types&bitEmail == 0 {
			return "", false
		}
		if len(s.mailbox) > 0 {
			if r, ok := s.mailbox[local+"@"+host]; ok {
				return r, true
			}
		}
		if r, ok := s.mailHost[host]; ok {
			return r, true
		}
		for h := host; ; {
			j := strings.IndexByte(h, '.')
			if j < 0 {
				break
			}
			h = h[j+1:]
			if r, ok := s.mailSub[h]; ok {
				return r, true
			}
		}
		return "", false
	}
	if e.deny != nil {
		if r, ok := match(e.deny); ok {
			return &Refusal{Type: Email, Name: m, Rule: r}
		}
	}
	if e.allow != nil {
		if _, ok := match(e.allow); !ok {
			return &Refusal{Type: Email, Name: m}
		}
	}
	return nil
}

// CheckURI checks one URI by its host.
func (e *Engine) CheckURI(u *url.URL) error {
	if !e.active() {
		return nil
	}
	host := u.Hostname()
	if host == "" {
		return &Refusal{Type: URI, Name: u.String(), Unparsable: true}
	}
	err := e.checkDomain(URI, host, bitURI, func(s *set) (map[string]string, map[string]string) { return s.uriExact, s.uriWild })
	if r, ok := err.(*Refusal); ok {
		r.Name = u.String()
	}
	return err
}
