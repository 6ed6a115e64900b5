package fixbench

import (
	"bufio"
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestRTTFloor builds rttfloor/rtt.c, the machine's floor without Go or
// FIX, and runs each of its modes briefly on loopback: it is the
// evidence behind the floor figures quoted for bench fix, so it must keep
// building and measuring.
func TestRTTFloor(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a C program")
	}
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("no gcc")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "rtt")
	if out, err := exec.CommandContext(ctx, gcc, "-O2", "-Wall", "-pthread", "-o", bin, "rttfloor/rtt.c").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	srv := exec.CommandContext(ctx, bin, "server", "0")
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	defer func() {
		if !waited {
			srv.Process.Kill()
			srv.Wait()
		}
	}()
	port, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("the server named no port: %v", err)
	}
	out, err := exec.CommandContext(ctx, bin, "client", strings.TrimSpace(port), "2000", "2").CombinedOutput()
	if err != nil {
		t.Fatalf("client: %v\n%s", err, out)
	}
	// 2 s at 2,000 a second, the first second warmup: 2,000 measured.
	line := regexp.MustCompile(`(?m)^from the (intended send time|actual write) *: n=2000 p50=[0-9.]+ p99=[0-9.]+ p99\.9=[0-9.]+ max=[0-9.]+ us; over 100 us [0-9.]+%$`)
	if got := line.FindAllString(string(out), -1); len(got) != 2 {
		t.Errorf("client output:\n%s\nwant both latency lines over 2000 round trips", out)
	}
	waited = true
	if err := srv.Wait(); err != nil {
		t.Errorf("server: %v (want a clean exit once the client closed)", err)
	}
	out, err = exec.CommandContext(ctx, bin, "jitter", "0.2").CombinedOutput()
	if err != nil || !regexp.MustCompile(`^gaps a second: >=10us [0-9]+, .* longest [0-9.]+ us\n$`).Match(out) {
		t.Errorf("jitter: %v\n%s", err, out)
	}
	if out, err := exec.CommandContext(ctx, bin, "client", "1", "0", "2").CombinedOutput(); err == nil || !strings.Contains(string(out), "usage: rtt") {
		t.Errorf("client at rate 0: %v %q, want the usage and a failure", err, out)
	}
}
