package config

import (
	"errors"
	"strings"
	"testing"
)

func TestAPITokenHashValidated(t *testing.T) {
	for _, bad := range []string{"abc", strings.Repeat("A", 64), strings.Repeat("g", 64), "demo-banka"} {
		c := Demo()
		c.Participants[0].APITokenHash = bad
		err := c.Validate()
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "participant[0].api_token_hash") || strings.Contains(err.Error(), bad) {
			t.Errorf("api_token_hash %q: %v (want a refusal naming the key, not quoting the value)", bad, err)
		}
	}
	c := Demo()
	c.Participants[0].APITokenHash = HashAPIToken("x")
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestCheckListenersDemoToken: the demo token written out as a hash is as
// public as the demo password.
func TestCheckListenersDemoToken(t *testing.T) {
	c := Demo()
	for i := range c.Participants {
		c.Participants[i].PasswordHash = "$2a$04$GKZ2twRSerrplM1wQAbNB.z3qZFrL2YhOEous/8SZMBwf5LuF8KaS"
	}
	c.Participants[1].APITokenHash = HashAPIToken(DemoAPIToken("BANKB"))
	c.Listen.HTTP = "0.0.0.0:8080"
	if err := c.CheckListeners(); err == nil || !strings.Contains(err.Error(), "BANKB (demo API token)") {
		t.Fatalf("CheckListeners = %v, want a refusal naming BANKB's demo API token", err)
	}
}
