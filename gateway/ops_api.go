package gateway

// routesOps registers the regulator, metrics and health routes (owned by
// the operations engineer; empty until they land).
func (s *Server) routesOps() {}
