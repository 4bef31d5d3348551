package xray

import (
	"errors"
	"testing"
)

func TestSplitDatagram(t *testing.T) {
	const doc = `{"name":"api.example.com","id":"53995c3f42cd8ad8","start_time":1.478293361271E9,"end_time":1.478293361449E9,"type":"subsegment","trace_id":"1-581cf771-a006649127e371903a2de979","parent_id":"defdfd9912dc5a56"}`
	check := func(name, datagram, wantBody string, wantErr error) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			b := []byte(datagram)
			body, err := SplitDatagram(b)
			if !errors.Is(err, wantErr) {
				t.Fatalf("SplitDatagram(%q) error = %v; want %v", datagram, err, wantErr)
			}
			if string(body) != wantBody {
				t.Errorf("body = %q; want %q", body, wantBody)
			}
			if err == nil && !within(body, b) {
				t.Error("body does not alias the datagram")
			}
		})
	}
	// The SDKs' two spellings.
	check("Go and Java header", `{"format": "json", "version": 1}`+"\n"+doc, doc, nil)
	check("Node and Python header", `{"format":"json","version":1}`+"\n"+doc, doc, nil)
	// Any other JSON with the same meaning.
	check("header with other spacing", `{ "format" : "json" , "version" : 1 }`+"\n"+doc, doc, nil)
	check("header keys reversed", `{"version":1,"format":"json"}`+"\n"+doc, doc, nil)
	check("header with tabs", "{\"format\":\t\"json\",\t\"version\":\t1}\n"+doc, doc, nil)
	check("header with an extra field", `{"format":"json","version":1,"sdk":"x"}`+"\n"+doc, doc, nil)
	check("header format upper case", `{"format":"JSON","version":1}`+"\n"+doc, doc, nil)
	check("CRLF line end", `{"format":"json","version":1}`+"\r\n"+doc, doc, nil)
	check("blank space around", "  "+`{"format": "json", "version": 1}`+" \n\n "+doc+"\n", doc, nil)
	check("body is an array", `{"format":"json","version":1}`+"\n["+doc+"]", "["+doc+"]", nil)
	check("body not checked here", `{"format":"json","version":1}`+"\nnot json", "not json", nil)
	check("body with newlines", `{"format":"json","version":1}`+"\n{\n\"a\": 1\n}", "{\n\"a\": 1\n}", nil)
	// Wrong headers.
	check("format xml", `{"format":"xml","version":1}`+"\n"+doc, "", ErrBadHeader)
	check("version 2", `{"format":"json","version":2}`+"\n"+doc, "", ErrBadHeader)
	check("version 0", `{"format":"json","version":0}`+"\n"+doc, "", ErrBadHeader)
	check("version as string", `{"format":"json","version":"1"}`+"\n"+doc, "", ErrBadHeader)
	check("version 1.5", `{"format":"json","version":1.5}`+"\n"+doc, "", ErrBadHeader)
	check("no version", `{"format":"json"}`+"\n"+doc, "", ErrBadHeader)
	check("no format", `{"version":1}`+"\n"+doc, "", ErrBadHeader)
	check("empty header object", `{}`+"\n"+doc, "", ErrBadHeader)
	check("empty header line", "\n"+doc, "", ErrBadHeader)
	check("header not JSON", "format=json version=1\n"+doc, "", ErrBadHeader)
	check("header truncated", `{"format":"json","vers`+"\n"+doc, "", ErrBadHeader)
	check("document where the header should be", doc+"\n"+doc, "", ErrBadHeader)
	// No newline, no body.
	check("no newline", `{"format":"json","version":1}`+doc, "", ErrNoHeader)
	check("document alone", doc, "", ErrNoHeader)
	check("empty datagram", "", "", ErrNoHeader)
	check("empty body", `{"format":"json","version":1}`+"\n", "", ErrNoBody)
	check("blank body", `{"format": "json", "version": 1}`+"\n \t\r\n ", "", ErrNoBody)
	check("bad header wins over empty body", `{"format":"xml","version":1}`+"\n", "", ErrBadHeader)
}

// within reports whether sub lies inside b's memory.
func within(sub, b []byte) bool {
	if len(sub) == 0 {
		return true
	}
	for i := range b {
		if &b[i] == &sub[0] {
			return i+len(sub) <= len(b)
		}
	}
	return false
}
