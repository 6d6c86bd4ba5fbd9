// Package krl encodes and decodes OpenSSH key revocation lists (KRLs) as
// OpenSSH's PROTOCOL.krl describes them, limited to what a CA revokes:
// certificates by serial number and by key ID, per CA key. sshd reads the
// result with RevokedKeys; `ssh-keygen -Q -f krl key` checks a key against
// it.
package krl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"
)

// magic is KRL_MAGIC, "SSHKRL\n\0".
const magic uint64 = 0x5353484b524c0a00

// formatVersion is KRL_FORMAT_VERSION.
const formatVersion = 1

// Section and certificate subsection types (PROTOCOL.krl).
const (
	sectionCertificates = 1
	sectionSignature    = 4
	certSerialList      = 0x20
	certSerialRange     = 0x21
	certSerialBitmap    = 0x22
	certKeyID           = 0x23
)

// MaxSize bounds a KRL Parse accepts.
const MaxSize = 64 << 20

// KRL is a key revocation list.
type KRL struct {
	// Version is krl_version: it should grow with every new list.
	Version   uint64
	Generated time.Time
	Comment   string
	Certs     []CertSection
}

// CertSection revokes certificates signed by one CA key.
type CertSection struct {
	// CAKey is the SSH wire format of the CA public key; empty revokes
	// certificates of any CA.
	CAKey []byte
	// Serials are revoked serial numbers (any order; duplicates allowed).
	Serials []uint64
	KeyIDs  []string
}

// Marshal encodes k. Serials are sorted; runs of consecutive serials are
// written as ranges, the others as one list.
func (k *KRL) Marshal() []byte {
	n := 64 + len(k.Comment)
	for _, s := range k.Certs {
		n += 32 + len(s.CAKey) + 8*len(s.Serials)
		for _, id := range s.KeyIDs {
			n += 4 + len(id)
		}
	}
	b := make([]byte, 0, n)
	b = binary.BigEndian.AppendUint64(b, magic)
	b = binary.BigEndian.AppendUint32(b, formatVersion)
	b = binary.BigEndian.AppendUint64(b, k.Version)
	b = binary.BigEndian.AppendUint64(b, uint64(max(k.Generated.Unix(), 0)))
	b = binary.BigEndian.AppendUint64(b, 0) // flags
	b = appendString(b, nil)                // reserved
	b = appendString(b, []byte(k.Comment))
	for _, s := range k.Certs {
		b = append(b, sectionCertificates)
		b = appendSection(b, func(b []byte) []byte { return s.appendBody(b) })
	}
	return b
}

func (s *CertSection) appendBody(b []byte) []byte {
	b = appendString(b, s.CAKey)
	b = appendString(b, nil) // reserved
	serials := slices.Clone(s.Serials)
	slices.Sort(serials)
	serials = slices.Compact(serials)
	var list []uint64
	var ranges [][2]uint64
	for i := 0; i < len(serials); {
		j := i
		for j+1 < len(serials) && serials[j+1] == serials[j]+1 {
			j++
		}
		if j-i >= 2 {
			ranges = append(ranges, [2]uint64{serials[i], serials[j]})
		} else {
			list = append(list, serials[i:j+1]...)
		}
		i = j + 1
	}
	if len(list) > 0 {
		b = append(b, certSerialList)
		b = appendSection(b, func(b []byte) []byte {
			for _, v := range list {
				b = binary.BigEndian.AppendUint64(b, v)
			}
			return b
		})
	}
	for _, r := range ranges {
		b = append(b, certSerialRange)
		b = appendSection(b, func(b []byte) []byte {
			b = binary.BigEndian.AppendUint64(b, r[0])
			return binary.BigEndian.AppendUint64(b, r[1])
		})
	}
	if len(s.KeyIDs) > 0 {
		b = append(b, certKeyID)
		b = appendSection(b, func(b []byte) []byte {
			for _, id := range s.KeyIDs {
				b = appendString(b, []byte(id))
			}
			return b
		})
	}
	return b
}

// appendSection appends a string whose content fill writes.
func appendSection(b []byte, fill func([]byte) []byte) []byte {
	at := len(b)
	b = append(b, 0, 0, 0, 0)
	b = fill(b)
	binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	return b
}

func appendString(b, s []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// ErrFormat is wrapped by every Parse error.
var ErrFormat = errors.New("invalid KRL")

// Parse decodes a KRL written by Marshal or by ssh-keygen -k. It reads
// certificate sections (serial lists, ranges, bitmaps and key IDs) and
// refuses other section types and signed KRLs. Ranges are kept expanded
// only up to maxExpand serials in total.
func Parse(b []byte) (*KRL, error) {
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrFormat, len(b), MaxSize)
	}
	r := reader{b: b}
	if r.u64() != magic || r.u32() != formatVersion {
		return nil, fmt.Errorf("%w: bad magic or version", ErrFormat)
	}
	k := &KRL{Version: r.u64()}
	gen := r.u64()
	if gen > 1<<40 {
		return nil, fmt.Errorf("%w: generated date out of range", ErrFormat)
	}
	k.Generated = time.Unix(int64(gen), 0)
	r.u64() // flags
	r.str() // reserved
	k.Comment = string(r.str())
	if r.err != nil {
		return nil, r.err
	}
	expanded := 0
	for len(r.b) > 0 {
		typ := r.byte()
		body := reader{b: r.str()}
		if r.err != nil {
			return nil, r.err
		}
		if typ != sectionCertificates {
			if typ == sectionSignature {
				return nil, fmt.Errorf("%w: signed KRLs are not supported", ErrFormat)
			}
			return nil, fmt.Errorf("%w: unsupported section type %d", ErrFormat, typ)
		}
		s := CertSection{CAKey: body.str()}
		body.str() // reserved
		for body.err == nil && len(body.b) > 0 {
			st := body.byte()
			sub := reader{b: body.str()}
			switch st {
			case certSerialList:
				if len(sub.b)%8 != 0 {
					return nil, fmt.Errorf("%w: serial list length %d", ErrFormat, len(sub.b))
				}
				for len(sub.b) > 0 {
					s.Serials = append(s.Serials, sub.u64())
				}
			case certSerialRange:
				lo, hi := sub.u64(), sub.u64()
				if sub.err != nil || lo > hi || hi-lo >= maxExpand || expanded+int(hi-lo+1) > maxExpand {
					return nil, fmt.Errorf("%w: serial range", ErrFormat)
				}
				expanded += int(hi - lo + 1)
				for v := lo; ; v++ {
					s.Serials = append(s.Serials, v)
					if v == hi {
						break
					}
				}
			case certSerialBitmap:
				off := sub.u64()
				bits := sub.str()
				if len(bits) > maxExpand/8 || expanded+8*len(bits) > maxExpand {
					return nil, fmt.Errorf("%w: serial bitmap too large", ErrFormat)
				}
				expanded += 8 * len(bits)
				for i := range len(bits) * 8 {
					// An mpint: big-endian, bit 0 is the last byte's lowest bit.
					if bits[len(bits)-1-i/8]&(1<<(i%8)) != 0 {
						s.Serials = append(s.Serials, off+uint64(i))
					}
				}
			case certKeyID:
				for sub.err == nil && len(sub.b) > 0 {
					s.KeyIDs = append(s.KeyIDs, string(sub.str()))
				}
			default:
				return nil, fmt.Errorf("%w: unsupported certificate section type %#x", ErrFormat, st)
			}
			if sub.err != nil {
				return nil, sub.err
			}
		}
		if body.err != nil {
			return nil, body.err
		}
		k.Certs = append(k.Certs, s)
	}
	return k, nil
}

// maxExpand bounds the serials ranges and bitmaps expand to in Parse.
const maxExpand = 1 << 20

// reader reads SSH wire fields; the first failure sticks in err.
type reader struct {
	b   []byte
	err error
}

func (r *reader) need(n int) bool {
	if r.err != nil {
		return false
	}
	if len(r.b) < n {
		r.err = fmt.Errorf("%w: truncated", ErrFormat)
		r.b = nil
		return false
	}
	return true
}

func (r *reader) byte() byte {
	if !r.need(1) {
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) u32() uint32 {
	if !r.need(4) {
		return 0
	}
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *reader) u64() uint64 {
	if !r.need(8) {
		return 0
	}
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *reader) str() []byte {
	n := r.u32()
	if !r.need(int(n)) {
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}
