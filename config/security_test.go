package config

import (
	"errors"
	"strings"
	"testing"
)

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:9878": true, "127.1.2.3:0": true, "[::1]:9878": true, "localhost:9878": true, "LOCALHOST:1": true,
		"0.0.0.0:9878": false, ":9878": false, "[::]:9878": false, "10.0.0.5:9878": false, "venue.example:9878": false,
		"127.0.0.1": false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestCheckListeners(t *testing.T) {
	const s3cret = "$2a$04$GKZ2twRSerrplM1wQAbNB.z3qZFrL2YhOEous/8SZMBwf5LuF8KaS"
	realPasswords := func(c *Config) {
		for i := range c.Participants {
			c.Participants[i].PasswordHash = s3cret
		}
	}
	for _, tc := range []struct {
		name   string
		change func(c *Config)
		want   []string // substrings of the refusal; nil: accepted
	}{
		{"demo on loopback", func(c *Config) {}, nil},
		{"demo on localhost and ::1", func(c *Config) { c.Listen.FIX = "localhost:9878"; c.Listen.HTTP = "[::1]:8080" }, nil},
		{"demo on all interfaces", func(c *Config) { c.Listen.FIX = "0.0.0.0:9878" },
			[]string{`listen.fix "0.0.0.0:9878" is not a loopback address`, "BANKA (demo password)", "REGULATOR (demo password)"}},
		{"demo on empty host", func(c *Config) { c.Listen.HTTP = ":8080" }, []string{`listen.http ":8080"`}},
		{"demo on nats", func(c *Config) { c.Listen.NATS = "10.1.2.3:4222" }, []string{`listen.nats "10.1.2.3:4222"`}},
		{"one demo left", func(c *Config) {
			realPasswords(c)
			c.Participants[3].PasswordHash = DemoPasswordHash
			c.Listen.FIX = "0.0.0.0:9878"
		},
			[]string{"participant BROKER1 (demo password) would"}},
		{"empty password", func(c *Config) { realPasswords(c); c.Participants[2].PasswordHash = ""; c.Listen.FIX = "0.0.0.0:9878" },
			[]string{"participant BANKC (empty password)"}},
		{"empty password on loopback", func(c *Config) { c.Participants[2].PasswordHash = "" }, nil},
		{"real passwords everywhere", func(c *Config) {
			realPasswords(c)
			c.Listen = Listen{FIX: "0.0.0.0:9878", HTTP: ":8080", NATS: "10.1.2.3:4222"}
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Demo()
			tc.change(c)
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			err := c.CheckListeners()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted; want a refusal with %q", tc.want)
			}
			if !errors.Is(err, ErrInsecureListener) {
				t.Errorf("%v does not match ErrInsecureListener", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("refusal %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestCheckListenersFreshDemoHash: an operator who hashed "demo" themselves
// (another salt, another cost) still has the demo password.
func TestCheckListenersFreshDemoHash(t *testing.T) {
	h, err := HashPassword(DemoPassword)
	if err != nil {
		t.Fatal(err)
	}
	c := Demo()
	c.Participants[1].PasswordHash = h
	c.Participants = c.Participants[1:2]
	c.Credit = nil
	c.Listen.FIX = "0.0.0.0:9878"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := c.CheckListeners(); err == nil || !strings.Contains(err.Error(), "BANKB (demo password)") {
		t.Fatalf("CheckListeners = %v, want a refusal naming BANKB", err)
	}
}

func TestVerifyPassword(t *testing.T) {
	c := Demo()
	c.Participants[2].PasswordHash = ""
	for _, tc := range []struct {
		id, password string
		want         bool
	}{
		{"BANKA", "demo", true},
		{"BANKA", "Demo", false},
		{"BANKA", "", false},
		{"BANKA", "demo ", false},
		{"NOBODY", "demo", false},
		{"", "", false},
		{"BANKC", "", true}, // empty password_hash: the empty password
		{"BANKC", "demo", false},
	} {
		if got := c.VerifyPassword(tc.id, tc.password); got != tc.want {
			t.Errorf("VerifyPassword(%q, %q) = %v, want %v", tc.id, tc.password, got, tc.want)
		}
	}
}

func TestHashPassword(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	c := Demo()
	c.Participants[0].PasswordHash = h
	if err := c.Validate(); err != nil {
		t.Fatalf("a HashPassword hash does not validate: %v", err)
	}
	if !c.VerifyPassword("BANKA", "correct horse") || c.VerifyPassword("BANKA", "correct horse ") {
		t.Error("VerifyPassword disagrees with HashPassword")
	}
	if _, err := HashPassword(""); err == nil {
		t.Error("HashPassword accepted an empty password")
	}
}
