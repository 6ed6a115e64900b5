package fixbench

import (
	"errors"
	"net"
	"sync"
	"syscall"
	"time"
)

// Echo is a venue reduced to what the generator needs, as cheap as it can
// be: it logs any session on (no password check), acknowledges each
// NewOrderSingle (150=0; an IOC, 59=3, also cancelled at once, 150=4, as
// the venue does with one that does not trade) and each
// OrderCancelRequest (150=4), with no matching, journal or validation,
// answers a Logout, and writes its
// answers to everything one read brought in with one write. Measured with
// the generator, it is the floor that the machine, its loopback and the
// generator put under any venue's latency and throughput (`fxmatch bench
// fix --echo`); the generator's own benchmark uses it to show the
// generator's cost alone. It serves ln until ln is closed, and returns the
// error that ended Accept (nil once closed), after its sessions ended.
//
// It authenticates nobody: serve it on a loopback address only.
func Echo(ln net.Listener) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	defer func() {
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ECONNABORTED) {
				time.Sleep(5 * time.Millisecond) // out of descriptors for now
				continue
			}
			return err
		}
		mu.Lock()
		conns[conn] = true
		mu.Unlock()
		wg.Go(func() {
			echoSession(conn, 0)
			mu.Lock()
			delete(conns, conn)
			mu.Unlock()
		})
	}
}

// echoSession serves one session of Echo. After the Logon it stops
// reading for stall, as a venue that falls behind would (a test's case).
func echoSession(conn net.Conn, stall time.Duration) {
	defer conn.Close()
	rd := NewReader(conn, 1<<20)
	var out, scratch, body []byte
	var sender []byte
	seq := 0
	now := time.Now()
	send := func(typ string, body []byte) {
		seq++
		out, scratch = AppendMessage(out, scratch, typ, VenueCompID, string(sender), seq, now, body)
	}
	for {
		if rd.start == rd.end && len(out) > 0 {
			if _, err := conn.Write(out); err != nil {
				return
			}
			out = out[:0]
		}
		m, err := rd.Next()
		if err != nil {
			return
		}
		now = time.Now()
		var typ, id, orig []byte
		ioc := false
		for tag, v := range m.Fields() {
			switch tag {
			case 35:
				typ = v
			case 49:
				if sender == nil {
					sender = append([]byte(nil), v...)
				}
			case 11:
				id = v
			case 41:
				orig = v
			case 59:
				ioc = string(v) == "3"
			}
		}
		switch string(typ) {
		case "A":
			send("A", []byte("98=0\x01108=30\x01"))
			if stall > 0 {
				conn.Write(out)
				out = out[:0]
				time.Sleep(stall)
			}
		case "D":
			body = AppendFieldBytes(body[:0], 11, id)
			body = append(body, "37=1\x0117=1\x01150=0\x0139=0\x0155=USD/CNY\x0154=1\x0138=1000000\x0114=0\x01151=1000000\x016=0\x01"...)
			send("8", body)
			if ioc {
				body = AppendFieldBytes(body[:0], 11, id)
				body = append(body, "37=1\x0117=2\x01150=4\x0139=4\x0155=USD/CNY\x0154=1\x0138=1000000\x0114=0\x01151=0\x016=0\x01"...)
				send("8", body)
			}
		case "F":
			body = AppendFieldBytes(body[:0], 11, id)
			body = AppendFieldBytes(body, 41, orig)
			body = append(body, "37=1\x0117=2\x01150=4\x0139=4\x0155=USD/CNY\x0154=1\x0138=1000000\x0114=0\x01151=0\x016=0\x01"...)
			send("8", body)
		case "5":
			send("5", nil)
			conn.Write(out)
			return
		}
	}
}
