package main

import (
	"strings"
	"testing"
)

func TestSimQuotes(t *testing.T) {
	code, out, errOut := runCmd(t, "", "sim", "quotes", "--seed", "3", "--seeds", "2", "--hours", "0.2")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"recommender", "fixed spread", "Avellaneda–Stoikov", "risk-adjusted P&L mean", "What each strategy knows"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, again, _ := runCmd(t, "", "sim", "quotes", "--seed", "3", "--seeds", "2", "--hours", "0.2"); again != out {
		t.Errorf("same seed, different output")
	}
	for _, args := range [][]string{{"--seeds", "0"}, {"--hours", "100"}, {"extra"}, {"--nope"}} {
		if code, _, _ := runCmd(t, "", append([]string{"sim", "quotes"}, args...)...); code != exitUsage {
			t.Errorf("sim quotes %v: exit %d, want %d", args, code, exitUsage)
		}
	}
	if code, out, _ := runCmd(t, "", "sim", "quotes", "-h"); code != exitOK || !strings.Contains(out, "usage: fxmatch sim quotes") {
		t.Errorf("sim quotes -h: exit %d\n%s", code, out)
	}
}
