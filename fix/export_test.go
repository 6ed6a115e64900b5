package fix

// Hooks for the external tests (package fix_test), compiled into tests only.

// Disconnect cuts comp's connection off as a pump does a slow consumer's
// (party.disconnect): from a goroutine other than the connection's own.
func (a *Acceptor) Disconnect(comp, why string) { a.parties[comp].disconnect(why) }

// PartyLoggedOn reports whether comp's session counts as logged on (what
// the drop-copy pump and LoggedOn go by).
func (a *Acceptor) PartyLoggedOn(comp string) bool { return a.parties[comp].loggedOn.Load() }
