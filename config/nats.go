package config

import (
	"net/url"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// NATS says how the venue reaches its message bus. With URL empty (the
// default) the venue embeds a NATS server in its own process, listening
// on Listen.NATS for outside clients, with one user per participant and
// internal users whose random passwords are made at each start. With URL
// set, the venue connects to that NATS deployment instead and embeds
// nothing; the users and permissions are then the operator's (gateway/bus
// documents the ones to grant, and `fxmatch config nats-server` prints a
// ready-to-use server configuration).
type NATS struct {
	// URL is the external server, "nats://host:4222" (tls:// for TLS; a
	// comma-separated list for a cluster). Empty: embed a server.
	URL string `toml:"url"`
	// User and PasswordFile are the venue's credentials on the external
	// server: the password is read from the file (its first line) at
	// start, so the configuration never holds it.
	User         string `toml:"user"`
	PasswordFile string `toml:"password_file"`
	// CredsFile is a NATS credentials file (JWT and nkey seed), the other
	// way to authenticate; not together with User.
	CredsFile string `toml:"creds_file"`
	// AssistantUser with AssistantPasswordFile, or AssistantCredsFile, are
	// the credentials of the assistant that `fxmatch serve` runs in
	// process. It needs its own user: the venue's may publish execution
	// events, and the assistant answers on reply subjects its clients
	// choose. Without them the in-process assistant does not run against
	// an external server (unless the venue connects without credentials).
	AssistantUser         string `toml:"assistant_user"`
	AssistantPasswordFile string `toml:"assistant_password_file"`
	AssistantCredsFile    string `toml:"assistant_creds_file"`
	// AssistantPasswordHash (embedded server only) lets a standalone
	// `fxmatch assistant` log on to the embedded server as AssistantUser
	// (default "assistant") with the assistant's permissions: a bcrypt
	// hash, made by `fxmatch config hash-password`.
	AssistantPasswordHash string `toml:"assistant_password_hash"`
}

// DefaultAssistantUser is the assistant's NATS user when the
// configuration names none.
const DefaultAssistantUser = "assistant"

// AssistantName is the assistant's NATS user name.
func (n *NATS) AssistantName() string {
	if n.AssistantUser != "" {
		return n.AssistantUser
	}
	return DefaultAssistantUser
}

// External reports whether the venue connects to an external NATS server
// rather than embedding one.
func (n *NATS) External() bool { return n.URL != "" }

func (c *Config) validateNATS() error {
	n := &c.NATS
	if n.URL == "" {
		for _, k := range []struct{ key, value string }{
			{"nats.user", n.User}, {"nats.password_file", n.PasswordFile}, {"nats.creds_file", n.CredsFile},
			{"nats.assistant_password_file", n.AssistantPasswordFile}, {"nats.assistant_creds_file", n.AssistantCredsFile},
		} {
			if k.value != "" {
				return c.errf(k.key, k.value, "is for an external NATS server: set nats.url too, or leave it out to embed the server")
			}
		}
		if n.AssistantUser != "" && n.AssistantPasswordHash == "" {
			return c.errf("nats.assistant_user", n.AssistantUser, "on the embedded server it needs nats.assistant_password_hash (for a standalone `fxmatch assistant`)")
		}
		if n.AssistantPasswordHash == "" {
			return nil
		}
		if _, err := bcrypt.Cost([]byte(n.AssistantPasswordHash)); err != nil {
			return c.errf("nats.assistant_password_hash", n.AssistantPasswordHash, "is not a bcrypt hash (make one with `fxmatch config hash-password`): %v", err)
		}
		name := n.AssistantName()
		if !compIDRE.MatchString(name) {
			return c.errf("nats.assistant_user", name, "%q: want 1 to 32 letters, digits, \"_\" or \"-\"", name)
		}
		if _, clash := c.Participant(name); clash {
			return c.errf("nats.assistant_user", name, "%q is also a participant's id; name the assistant's user differently", name)
		}
		return nil
	}
	if n.AssistantPasswordHash != "" {
		return c.errf("nats.assistant_password_hash", n.AssistantPasswordHash, "is for the embedded server; an external server's users are in its own configuration (`fxmatch config nats-server`)")
	}
	for _, u := range strings.Split(n.URL, ",") {
		u = strings.TrimSpace(u)
		p, err := url.Parse(u)
		if err != nil || p.Host == "" || p.Hostname() == "" {
			return c.errf("nats.url", n.URL, "%q is not a NATS URL (want nats://host:4222, tls://host:4222, or a comma-separated list of them)", u)
		}
		switch p.Scheme {
		case "nats", "tls", "ws", "wss":
		default:
			return c.errf("nats.url", n.URL, "%q: unsupported scheme %q (want nats, tls, ws or wss)", u, p.Scheme)
		}
		if p.User != nil {
			return c.errf("nats.url", n.URL, "%q holds credentials: put the user in nats.user and the password in the file nats.password_file (or use nats.creds_file)", u)
		}
	}
	if err := c.checkCredentials("nats.", n.User, n.PasswordFile, n.CredsFile); err != nil {
		return err
	}
	return c.checkCredentials("nats.assistant_", n.AssistantUser, n.AssistantPasswordFile, n.AssistantCredsFile)
}

// checkCredentials: a user with a password file, or a creds file, or
// nothing; prefix names the keys ("nats." or "nats.assistant_").
func (c *Config) checkCredentials(prefix, user, pwFile, creds string) error {
	switch {
	case creds != "" && (user != "" || pwFile != ""):
		return c.errf(prefix+"creds_file", creds, "use either %screds_file or %suser with %spassword_file, not both", prefix, prefix, prefix)
	case user != "" && pwFile == "":
		return c.errf(prefix+"user", user, "needs %spassword_file (a file holding the password)", prefix)
	case pwFile != "" && user == "":
		return c.errf(prefix+"password_file", pwFile, "needs %suser", prefix)
	}
	return nil
}
