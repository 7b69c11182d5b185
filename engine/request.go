package engine

// Request is what a front end knows about the request that drives a step.
// It feeds the `request` variable of runtime expressions.
type Request struct {
	Protocol  string `json:"protocol"` // api | radius | oauth
	ClientIP  string `json:"client_ip,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
	Locale    string `json:"locale,omitempty"`
	// Message is the text an application (an api_client) asked to show
	// on the phone, already composed with the client's device and
	// location; push_sender shows it instead of its user_message.
	Message string      `json:"message,omitempty"`
	RADIUS  *RADIUSInfo `json:"radius,omitempty"`
	OAuth   *OAuthInfo  `json:"oauth,omitempty"`
	// RequestID ties the request's log lines and audit entry together; an
	// HTTP front end takes it from ContextRequestID, RADIUS makes one per
	// packet. It is not secret and not unique across restarts.
	RequestID string `json:"request_id,omitempty"`
	// Credentials carried by the protocol itself (RADIUS PAP): the
	// credentials node takes them instead of asking. Never stored.
	Credentials *Credentials `json:"-"`
}

// RADIUSInfo is what a RADIUS Access-Request says about its origin.
type RADIUSInfo struct {
	NASIdentifier    string `json:"nas_identifier,omitempty"`
	NASIP            string `json:"nas_ip,omitempty"`
	CallingStationID string `json:"calling_station_id,omitempty"`
}

// OAuthInfo is what an OAuth authorization request says about its client.
type OAuthInfo struct {
	ClientID string   `json:"client_id,omitempty"`
	Scopes   []string `json:"scopes,omitempty"`
}

// Credentials are a user name and password that came with the request.
type Credentials struct {
	Username string
	Password string
}

func (r Request) withoutSecrets() Request {
	r.Credentials = nil
	return r
}
