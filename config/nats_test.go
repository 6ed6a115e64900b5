package config

import (
	"errors"
	"strings"
	"testing"
)

func TestNATSSection(t *testing.T) {
	for _, tc := range []struct {
		name, toml string
		want       string // substring of the error; "" = accepted
	}{
		{"embedded", "", ""},
		{"url only", "[nats]\nurl = \"nats://10.0.0.7:4222\"", ""},
		{"user and file", "[nats]\nurl = \"tls://nats.example:4222\"\nuser = \"venue\"\npassword_file = \"/etc/pw\"", ""},
		{"creds", "[nats]\nurl = \"nats://a:4222, nats://b:4222\"\ncreds_file = \"/etc/venue.creds\"", ""},
		{"user without url", "[nats]\nuser = \"venue\"", `nats.user: is for an external NATS server`},
		{"bad url", "[nats]\nurl = \"localhost\"", `nats.url: "localhost" is not a NATS URL`},
		{"bad scheme", "[nats]\nurl = \"http://x:4222\"", `unsupported scheme "http"`},
		{"password in url", "[nats]\nurl = \"nats://venue:pw@x:4222\"", `holds credentials`},
		{"user without password", "[nats]\nurl = \"nats://x:4222\"\nuser = \"venue\"", `nats.user: needs nats.password_file`},
		{"password without user", "[nats]\nurl = \"nats://x:4222\"\npassword_file = \"/pw\"", `nats.password_file: needs nats.user`},
		{"both ways", "[nats]\nurl = \"nats://x:4222\"\nuser = \"v\"\npassword_file = \"/pw\"\ncreds_file = \"/c\"", `either nats.creds_file or nats.user`},
		{"assistant user", "[nats]\nurl = \"nats://x:4222\"\nuser = \"v\"\npassword_file = \"/pw\"\nassistant_user = \"a\"\nassistant_password_file = \"/apw\"", ""},
		{"assistant user without password", "[nats]\nurl = \"nats://x:4222\"\nassistant_user = \"a\"", `nats.assistant_user: needs nats.assistant_password_file`},
		{"assistant both ways", "[nats]\nurl = \"nats://x:4222\"\nassistant_creds_file = \"/c\"\nassistant_password_file = \"/p\"", `use either nats.assistant_creds_file or nats.assistant_user`},
		{"assistant without url", "[nats]\nassistant_creds_file = \"/c\"", `nats.assistant_creds_file: is for an external NATS server`},
		{"embedded assistant", "[nats]\nassistant_password_hash = \"" + DemoPasswordHash + "\"", ""},
		{"embedded assistant named", "[nats]\nassistant_user = \"asst\"\nassistant_password_hash = \"" + DemoPasswordHash + "\"", ""},
		{"embedded assistant without hash", "[nats]\nassistant_user = \"asst\"", `nats.assistant_user: on the embedded server it needs nats.assistant_password_hash`},
		{"embedded assistant bad hash", "[nats]\nassistant_password_hash = \"secret\"", `nats.assistant_password_hash: is not a bcrypt hash`},
		{"embedded assistant is a participant", "[nats]\nassistant_user = \"BANKA\"\nassistant_password_hash = \"" + DemoPasswordHash + "\"", `"BANKA" is also a participant's id`},
		{"embedded assistant bad name", "[nats]\nassistant_user = \"a.b\"\nassistant_password_hash = \"" + DemoPasswordHash + "\"", `nats.assistant_user: "a.b"`},
		{"assistant hash with url", "[nats]\nurl = \"nats://x:4222\"\nassistant_password_hash = \"" + DemoPasswordHash + "\"", `nats.assistant_password_hash: is for the embedded server`},
		{"unknown key", "[nats]\nurl = \"nats://x:4222\"\npassword = \"pw\"", `nats.password: unknown key`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A table at the end of the file: keys after it belong to it.
			doc := string(Example()) + "\n" + tc.toml + "\n"
			c, err := Parse([]byte(doc), "venue.toml")
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.NATS.External() != strings.Contains(tc.toml, "url") {
					t.Errorf("External() = %v", c.NATS.External())
				}
				return
			}
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
