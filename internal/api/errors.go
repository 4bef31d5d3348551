package api

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/fluoro-dev/fluoro/internal/xray"
)

// Error is an API error: the HTTP status and X-Ray's error code, which the
// AWS SDKs turn into typed exceptions (InvalidRequestException and so on).
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func invalid(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "InvalidRequestException", Message: fmt.Sprintf(format, args...)}
}

// writeError renders every API error: status, X-Amzn-ErrorType and the JSON
// body the restJson1 protocol defines.
func writeError(w http.ResponseWriter, e *Error) {
	b, _ := json.Marshal(xray.ErrorBody{Type: e.Code, Message: e.Message, LMessage: e.Message})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-ErrorType", e.Code)
	h.Set("x-amzn-RequestId", requestID())
	w.WriteHeader(e.Status)
	w.Write(b)
}
