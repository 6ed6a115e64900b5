// Package natstest starts a NATS server in-process for tests, on a free
// loopback port, as nats-server's own tests do, and polls instead of
// sleeping (checkFor).
package natstest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Run starts a server and stops it when the test ends.
func Run(t testing.TB) *server.Server { t.Helper(); return RunWith(t, &server.Options{}) }

// RunWith starts a server with opts (users, say) on a free loopback port.
func RunWith(t testing.TB, opts *server.Options) *server.Server {
	t.Helper()
	opts.Host, opts.Port, opts.NoLog, opts.NoSigs = "127.0.0.1", -1, true, true
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(5 * time.Second) {
		t.Fatal("natstest: nats-server did not start")
	}
	t.Cleanup(ns.Shutdown)
	return ns
}

// Connect opens a client connection, closed when the test ends.
func Connect(t testing.TB, ns *server.Server) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// CheckFor polls f until it returns nil, failing the test with f's last
// error when total has passed.
func CheckFor(t testing.TB, total time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(total)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("after %v: %v", total, err)
}
