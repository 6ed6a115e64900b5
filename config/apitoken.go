package config

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// HTTP API tokens are stored as plain SHA-256 hashes, not bcrypt: a token
// is 256 random bits made by NewAPIToken, so there is nothing for a slow
// hash to protect against guessing, and the gateway checks one on every
// request, where bcrypt's ~50 ms would be the whole latency budget.
//
// The demo participants (those with the demo password or an empty one)
// have a documented demo token, "demo-" + their ID in lower case
// ("demo-banka"). Like the demo password it is accepted only while every
// listener is on loopback; CheckListeners refuses to start otherwise.

// DemoAPIToken is the demo token of participant id: "demo-banka" for BANKA.
func DemoAPIToken(id string) string { return "demo-" + strings.ToLower(id) }

// HashAPIToken is the SHA-256 of token in lower-case hex, the form of
// api_token_hash.
func HashAPIToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// NewAPIToken returns a fresh random token ("fxm_" and 43 characters of
// base64url: 256 bits) and its hash for api_token_hash.
func NewAPIToken() (token, hash string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", err
	}
	token = "fxm_" + base64.RawURLEncoding.EncodeToString(b[:])
	return token, HashAPIToken(token), nil
}

func checkAPITokenHash(h string) error {
	if h == "" {
		return nil
	}
	if len(h) != 64 || strings.ToLower(h) != h {
		return errors.New("not a SHA-256 hash (want 64 lower-case hex digits); make one with `fxmatch config hash-token`")
	}
	if _, err := hex.DecodeString(h); err != nil {
		return errors.New("not a SHA-256 hash (want 64 lower-case hex digits); make one with `fxmatch config hash-token`")
	}
	return nil
}

// AllLoopback reports whether every listener is on a loopback address.
func (c *Config) AllLoopback() bool {
	for _, l := range c.listeners() {
		if !IsLoopback(l.addr) {
			return false
		}
	}
	return true
}

// APIToken is one participant's accepted HTTP API token.
type APIToken struct {
	// Hash is the token's SHA-256 in hex ("" : the participant has no
	// HTTP access).
	Hash string
	// Demo: the hash is the participant's documented demo token.
	Demo bool
}

// APITokenHashes returns, for each participant in order, the token the
// HTTP API accepts: its api_token_hash; else, for a participant with the
// demo or an empty password and only while every listener is on
// loopback, its demo token; else none. It costs one bcrypt comparison per
// distinct password hash (call it once, at startup).
func (c *Config) APITokenHashes() []APIToken {
	out := make([]APIToken, len(c.Participants))
	loop := c.AllLoopback()
	demo := map[string]bool{}
	for i := range c.Participants {
		p := &c.Participants[i]
		if p.APITokenHash != "" {
			out[i] = APIToken{Hash: p.APITokenHash, Demo: p.APITokenHash == HashAPIToken(DemoAPIToken(p.ID))}
			if out[i].Demo && !loop {
				out[i] = APIToken{}
			}
			continue
		}
		if !loop {
			continue
		}
		weak, seen := demo[p.PasswordHash]
		if !seen {
			weak = p.PasswordHash == "" || bcrypt.CompareHashAndPassword([]byte(p.PasswordHash), []byte(DemoPassword)) == nil
			demo[p.PasswordHash] = weak
		}
		if weak {
			out[i] = APIToken{Hash: HashAPIToken(DemoAPIToken(p.ID)), Demo: true}
		}
	}
	return out
}
