package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFraudCommands runs sim fraud, score and eval fraud in-process on a
// small stream.
func TestFraudCommands(t *testing.T) {
	dir := t.TempDir()
	events, labels := filepath.Join(dir, "events.jsonl"), filepath.Join(dir, "labels.jsonl")
	code, _, stderr := runCmd(t, "", "sim", "fraud", "--seed", "4", "--accounts", "150", "--days", "6", "--out", events, "--labels", labels)
	if code != exitOK {
		t.Fatalf("sim fraud: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "seed 4: 150 accounts, 6 days") || !strings.Contains(stderr, "takeover") {
		t.Errorf("sim fraud summary: %s", stderr)
	}
	stream, err := os.ReadFile(events)
	if err != nil {
		t.Fatal(err)
	}
	// The same flags give the same bytes.
	again := filepath.Join(dir, "again.jsonl")
	if code, _, stderr := runCmd(t, "", "sim", "fraud", "--seed", "4", "--accounts", "150", "--days", "6", "--out", again, "--labels", filepath.Join(dir, "l2")); code != exitOK {
		t.Fatalf("sim fraud again: %s", stderr)
	}
	if b, _ := os.ReadFile(again); string(b) != string(stream) {
		t.Error("sim fraud: the same seed gave a different stream")
	}

	code, stdout, stderr := runCmd(t, string(stream), "score")
	if code != exitOK {
		t.Fatalf("score: exit %d\n%s", code, stderr)
	}
	orders := strings.Count(string(stream), `"event":"order"`)
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != orders {
		t.Fatalf("score: %d lines for %d orders", len(lines), orders)
	}
	actions := map[string]int{}
	for _, l := range lines {
		var out struct {
			OrderID string   `json:"order_id"`
			Score   *float64 `json:"score"`
			Action  string   `json:"action"`
			Reasons []string `json:"reasons"`
		}
		if err := json.Unmarshal([]byte(l), &out); err != nil || out.OrderID == "" || out.Score == nil || out.Reasons == nil {
			t.Fatalf("score line %q: %v", l, err)
		}
		if *out.Score < 0 || *out.Score > 1 {
			t.Fatalf("score line %q: score out of range", l)
		}
		actions[out.Action]++
		if out.Action != "allow" && len(out.Reasons) == 0 {
			t.Errorf("score line %q: flagged without a reason", l)
		}
	}
	if actions["allow"] == 0 || actions["review"]+actions["block"] == 0 {
		t.Errorf("actions %v: want some allowed and some flagged", actions)
	}

	code, stdout, stderr = runCmd(t, "", "eval", "fraud", "--events", events, "--labels", labels)
	if code != exitOK {
		t.Fatalf("eval fraud: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"ROC-AUC", "PR-AUC", "scorer", "rules", "z-score", "takeovers caught on their first order", "hard negatives flagged"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("eval fraud output lacks %q:\n%s", want, stdout)
		}
	}
	// eval --seed simulates the same stream itself: the same figures.
	code, stdout2, stderr := runCmd(t, "", "eval", "fraud", "--seed", "4", "--accounts", "150", "--days", "6")
	if code != exitOK {
		t.Fatalf("eval fraud --seed: exit %d\n%s", code, stderr)
	}
	body := func(s string) string { return s[strings.Index(s, "\n")+1:] }
	if got, want := body(stdout2), body(stdout); !strings.HasPrefix(got, strings.TrimSpace(want)) {
		t.Errorf("eval --seed differs from eval of the written stream:\n%s\nvs\n%s", got, want)
	}
}

func TestScoreRejectsBadLine(t *testing.T) {
	in := `{"ts":"2025-03-17T09:30:00Z","event":"login","account":"A","source":"s"}` + "\n" + `{"ts":"soon"}` + "\n"
	code, _, stderr := runCmd(t, in, "score")
	if code != exitFail || !strings.Contains(stderr, "line 2") || !strings.Contains(stderr, "fraud: bad event") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestFraudCommandLineErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sim"}, exitUsage, "which kind?"},
		{[]string{"sim", "weather"}, exitUsage, `unknown kind "weather"`},
		{[]string{"sim", "fraud"}, exitUsage, "--out and --labels are required"},
		{[]string{"eval", "fraud"}, exitUsage, "give --events and --labels, or --seed"},
		{[]string{"eval", "fraud", "--seed", "x"}, exitUsage, "not a list of seeds"},
		{[]string{"eval", "fraud", "--events", "e"}, exitUsage, "go together"},
		{[]string{"score", "--review", "0.9", "--block", "0.5"}, exitUsage, "bad configuration"},
		{[]string{"score", "extra"}, exitUsage, `unexpected argument "extra"`},
	} {
		code, _, stderr := runCmd(t, "", c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
	for _, args := range [][]string{{"sim", "-h"}, {"sim", "fraud", "-h"}, {"eval", "fraud", "--help"}, {"score", "-h"}} {
		if code, stdout, _ := runCmd(t, "", args...); code != exitOK || !strings.Contains(stdout, "usage: fxmatch") {
			t.Errorf("%v: exit %d, stdout %q", args, code, stdout)
		}
	}
}
