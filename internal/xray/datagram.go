package xray

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
)

// Datagram errors, one per reason a datagram is refused before its document
// is read. They are counted by reason at ingest.
var (
	ErrNoHeader  = errors.New("datagram has no header line")
	ErrBadHeader = errors.New(`datagram header is not {"format": "json", "version": 1}`)
	ErrNoBody    = errors.New("datagram has a header but no document")
)

// Headers the SDKs send verbatim: Go and Java put spaces after the colons,
// Node and Python do not. Anything else is parsed as JSON.
var (
	headerSpaced = []byte(`{"format": "json", "version": 1}`)
	headerTight  = []byte(`{"format":"json","version":1}`)
)

// SplitDatagram checks the header line of a daemon-protocol datagram and
// returns the document after it. The result aliases b.
func SplitDatagram(b []byte) ([]byte, error) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return nil, ErrNoHeader
	}
	header, body := bytes.TrimSpace(b[:i]), bytes.TrimSpace(b[i+1:])
	if !bytes.Equal(header, headerSpaced) && !bytes.Equal(header, headerTight) {
		var h struct {
			Format  string `json:"format"`
			Version int    `json:"version"`
		}
		if json.Unmarshal(header, &h) != nil || !strings.EqualFold(h.Format, "json") || h.Version != 1 {
			return nil, ErrBadHeader
		}
	}
	if len(body) == 0 {
		return nil, ErrNoBody
	}
	return body, nil
}
