package engine

// Suspension returns where a suspended session stands: its pending
// callbacks and their deadline, as the Resume that suspended it answered,
// without running its node or writing anything. A front end whose
// client's own wait ran out (a long poll's ?wait=) answers with it instead
// of resuming: a resume would only suspend again at the same wait, at the
// cost of a store commit per poll, and would restart the wait's seconds.
// Errors are Resume's for a session that is unknown, finished or expired.
func (e *Engine) Suspension(id string) (*Response, error) {
	if id == "" || len(id) > 128 {
		return nil, &SessionError{ID: id, Err: ErrSessionNotFound}
	}
	s, err := e.Session(id)
	if err != nil {
		return nil, err
	}
	if s.Finished {
		return nil, &SessionError{ID: id, Err: ErrSessionFinished}
	}
	if !e.clock.Now().Before(s.Expires) {
		return nil, &SessionError{ID: id, Err: ErrSessionExpired}
	}
	return &Response{
		Session: s.ID, Journey: s.Journey, Node: s.Node, Callbacks: s.Pending, Until: s.Until,
		User: s.User, Path: append([]string(nil), s.Path...), State: s,
	}, nil
}
