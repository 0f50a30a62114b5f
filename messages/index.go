package messages

// Index is one frame of the indices channel (stock only): the value of a
// market index such as IR0001.
//
//fugle:decode channel=indices recv=x
type Index struct {
	Meta

	Symbol   string    `json:"symbol" fugle:"required"`
	Type     string    `json:"type"` // "INDEX"
	Exchange string    `json:"exchange"`
	Index    float64   `json:"index"`
	Time     Timestamp `json:"time"`

	// Has reports whether the frame carried the named field with a value. name
	// is the JSON name, such as "index".
	has uint8
}
