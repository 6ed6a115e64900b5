package config

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// Passwords are stored as bcrypt hashes (golang.org/x/crypto/bcrypt):
// a configuration file is copied around, checked in and printed, so it must
// never hold a password an attacker could reuse. bcrypt rather than
// argon2id because its hash string carries its own algorithm, cost and
// salt, so one string per participant is the whole story, and every
// operator's toolbox (htpasswd -B, Python's bcrypt) can make one.

// ErrInsecureListener is matched (errors.Is) by CheckListeners' refusals.
var ErrInsecureListener = errors.New("config: insecure listener")

type listener struct {
	key, name, addr string
}

func (c *Config) listeners() []listener {
	return []listener{
		{"fix", "FIX", c.Listen.FIX},
		{"http", "HTTP", c.Listen.HTTP},
		{"nats", "NATS", c.Listen.NATS},
	}
}

// IsLoopback reports whether a listen address (host:port) only accepts
// connections from this machine: an IP in 127.0.0.0/8 or ::1, or the name
// "localhost". An empty host ("":9878) listens on every interface and is
// not loopback; neither is any other host name, which could resolve to
// anything.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckListeners enforces the Rules of Engagement's security note: the
// venue refuses to listen on a non-loopback address while any participant
// has the demo password or an empty one, because then anyone who can reach
// the machine can trade as that participant. The error names the address
// and the participants. It costs one bcrypt comparison per distinct hash,
// and only when some listener is not on loopback.
func (c *Config) CheckListeners() error {
	var exposed []listener
	for _, l := range c.listeners() {
		if !IsLoopback(l.addr) {
			exposed = append(exposed, l)
		}
	}
	if len(exposed) == 0 {
		return nil
	}
	var weak []string
	isDemo := map[string]bool{}
	for i := range c.Participants {
		p := &c.Participants[i]
		if p.APITokenHash != "" && p.APITokenHash == HashAPIToken(DemoAPIToken(p.ID)) {
			weak = append(weak, fmt.Sprintf("%s (demo API token)", p.ID))
			continue
		}
		if p.PasswordHash == "" {
			weak = append(weak, fmt.Sprintf("%s (empty password)", p.ID))
			continue
		}
		demo, seen := isDemo[p.PasswordHash]
		if !seen {
			demo = bcrypt.CompareHashAndPassword([]byte(p.PasswordHash), []byte(DemoPassword)) == nil
			isDemo[p.PasswordHash] = demo
		}
		if demo {
			weak = append(weak, fmt.Sprintf("%s (demo password)", p.ID))
		}
	}
	if len(weak) == 0 {
		return nil
	}
	l := exposed[0]
	who := "participant"
	if len(weak) > 1 {
		who = "participants"
	}
	return fmt.Errorf("%w: listen.%s %q is not a loopback address, and %s %s would let anyone who reaches it log on; "+
		"give every participant its own password (password_hash, made by `fxmatch config hash-password`) or listen on 127.0.0.1",
		ErrInsecureListener, l.key, l.addr, who, strings.Join(weak, ", "))
}

// dummyHash is compared against when the participant is unknown, so that
// a logon for an unknown CompID takes as long as one for a known CompID
// with a wrong password, and response time does not reveal which CompIDs
// exist. Its cost matches HashPassword's.
// It is made on first use (one bcrypt hash, ~50 ms) rather than written as
// a constant, so it is a well-formed hash for certain: bcrypt returns at
// once, without the work, on a malformed one.
var dummyHash = sync.OnceValue(func() []byte {
	h, err := bcrypt.GenerateFromPassword([]byte("no such participant"), bcrypt.DefaultCost)
	if err != nil {
		panic(fmt.Sprintf("config: bcrypt: %v", err))
	}
	return h
})

// VerifyPassword reports whether password is the password of participant
// id. The comparison is constant-time in the password (bcrypt compares
// hashes with subtle.ConstantTimeCompare), and an unknown participant costs
// a full bcrypt comparison too. An empty password_hash accepts exactly the
// empty password.
func (c *Config) VerifyPassword(id, password string) bool {
	p, ok := c.Participant(id)
	if !ok {
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return false
	}
	if p.PasswordHash == "" {
		return subtle.ConstantTimeEq(int32(len(password)), 0) == 1
	}
	return bcrypt.CompareHashAndPassword([]byte(p.PasswordHash), []byte(password)) == nil
}

// HashPassword returns the bcrypt hash of password at bcrypt's default
// cost, for a participant's password_hash.
func HashPassword(password string) (string, error) {
	if password == "" {
		return "", errors.New("config: empty password: leave password_hash empty instead (loopback only)")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("config: %w", err)
	}
	return string(h), nil
}
