package pemutil

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// maxOpenSSHKDFRounds bounds the bcrypt_pbkdf rounds we run for an encrypted
// OpenSSH key (ssh-keygen's default is 16; each round costs about 5-10 ms),
// so a crafted file cannot make parsing hang for hours.
const maxOpenSSHKDFRounds = 4096

const openSSHMagic = "openssh-key-v1\x00"

// checkOpenSSHRounds reads the kdfoptions of an "OPENSSH PRIVATE KEY" body
// (PROTOCOL.key: magic, string cipher, string kdfname, string kdfoptions =
// {string salt, uint32 rounds}) and rejects bcrypt round counts above maxRounds.
// Structural problems are left to x/crypto/ssh to report.
func checkOpenSSHRounds(body []byte, maxRounds uint32) error {
	rest, ok := bytes.CutPrefix(body, []byte(openSSHMagic))
	if !ok {
		return nil
	}
	var fields [3][]byte
	for i := range fields {
		if fields[i], rest, ok = sshString(rest); !ok {
			return nil
		}
	}
	if string(fields[1]) != "bcrypt" {
		return nil
	}
	_, opts, ok := sshString(fields[2])
	if !ok || len(opts) < 4 {
		return nil
	}
	if rounds := binary.BigEndian.Uint32(opts); rounds > maxRounds {
		return fmt.Errorf("%s: %w: bcrypt KDF rounds %d above the limit %d", TypeOpenSSHPrivateKey, ErrUnsupported, rounds, maxRounds)
	}
	return nil
}

// sshString splits one SSH wire-format string (uint32 length + bytes) off b.
func sshString(b []byte) ([]byte, []byte, bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return nil, nil, false
	}
	return b[4 : 4+n], b[4+n:], true
}
