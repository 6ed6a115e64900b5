package fix

// Counts for the operators' endpoints (gateway: /metrics, /readyz).

// LoggedOn is the number of FIX sessions logged on now (drop-copy
// sessions included).
func (a *Acceptor) LoggedOn() int {
	n := 0
	for _, p := range a.parties {
		if p.loggedOn.Load() {
			n++
		}
	}
	return n
}

// Listening reports whether the acceptor is taking connections: started
// and not closing.
func (a *Acceptor) Listening() bool {
	if a.closing.Load() {
		return false
	}
	select {
	case <-a.done:
		return false
	default:
		return true
	}
}
