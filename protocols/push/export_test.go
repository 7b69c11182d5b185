package push

// APNsHost returns the host the running configuration's APNs
// push_provider name sends to ("" when name is not an APNs provider).
// Delivery tests point providers at local fakes (WithAPNsHost), so this is
// how a test sees which of Apple's hosts, production or sandbox, a
// configuration reaches.
func (s *Service) APNsHost(name string) string {
	if a, ok := s.providers.Load().byName[name].(*apnsProvider); ok {
		return a.client.Host
	}
	return ""
}
