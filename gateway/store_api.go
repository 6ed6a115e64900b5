package gateway

// routesStore registers the stores, listings and assistant routes (owned
// by the storefront's engineer; empty until they land).
func (s *Server) routesStore() {}
