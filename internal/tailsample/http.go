package tailsample

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/fluoro-dev/fluoro/internal/xray"
)

// BoostsPath is where Handler serves the boosts API:
//
//	POST   /api/sampling/boosts       {"rate":0.5,"duration":"30m","service":"checkout","reason":"deploy"} → 201, the boost
//	GET    /api/sampling/boosts       → 200, {"boosts":[…]} (those in force, oldest first)
//	DELETE /api/sampling/boosts/{id}  → 200, the boost removed
//
// Errors are JSON in the X-Ray shape ({"__type", "Message"}, with
// X-Amzn-ErrorType): InvalidRequestException (400), ResourceNotFoundException
// (404), and FailedPreconditionException (409) when tail sampling is off.
const BoostsPath = "/api/sampling/boosts"

// BoostBody is the JSON of a boost request.
type BoostBody struct {
	Rate     float64 `json:"rate"`
	Duration string  `json:"duration"` // a Go duration: "30m", "2h"
	Service  string  `json:"service,omitempty"`
	Reason   string  `json:"reason,omitempty"`
}

// BoostList is the JSON of GET BoostsPath.
type BoostList struct {
	Boosts []Boost `json:"boosts"`
}

// Handler serves the boosts API for s, which may be nil when tail sampling
// is off. Mount it at BoostsPath and BoostsPath + "/".
func Handler(s *Sampler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s == nil {
			writeErr(w, http.StatusConflict, "FailedPreconditionException",
				"tail sampling is not enabled on this server (tail_sampling.enabled in its configuration)")
			return
		}
		id := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, BoostsPath), "/")
		switch {
		case id == "" && r.Method == http.MethodGet:
			writeJSON(w, http.StatusOK, BoostList{Boosts: append([]Boost{}, s.Boosts(r.Context())...)})
		case id == "" && r.Method == http.MethodPost:
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
			if err != nil {
				writeErr(w, http.StatusBadRequest, "InvalidRequestException", "read request body: "+err.Error())
				return
			}
			var in BoostBody
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&in); err != nil {
				writeErr(w, http.StatusBadRequest, "InvalidRequestException", "request body is not a boost: "+err.Error())
				return
			}
			d, err := time.ParseDuration(in.Duration)
			if err != nil {
				writeErr(w, http.StatusBadRequest, "InvalidRequestException", fmt.Sprintf("duration %q: want a duration such as 30m or 2h", in.Duration))
				return
			}
			b, err := s.AddBoost(r.Context(), BoostRequest{Rate: in.Rate, Duration: d, Service: in.Service, Reason: in.Reason})
			if err != nil {
				writeBoostErr(w, err)
				return
			}
			writeJSON(w, http.StatusCreated, b)
		case id != "" && r.Method == http.MethodDelete:
			b, err := s.RemoveBoost(r.Context(), id)
			if err != nil {
				writeBoostErr(w, err)
				return
			}
			writeJSON(w, http.StatusOK, b)
		default:
			allow := "GET, POST"
			if id != "" {
				allow = "DELETE"
			}
			w.Header().Set("Allow", allow)
			writeErr(w, http.StatusMethodNotAllowed, "InvalidRequestException", fmt.Sprintf("%s %s: allowed methods are %s", r.Method, r.URL.Path, allow))
		}
	})
}

func writeBoostErr(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrInvalid):
		writeErr(w, http.StatusBadRequest, "InvalidRequestException", err.Error())
	case errors.Is(err, ErrNotFound):
		writeErr(w, http.StatusNotFound, "ResourceNotFoundException", err.Error())
	default:
		writeErr(w, http.StatusInternalServerError, "InternalFailure", err.Error())
	}
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("X-Amzn-ErrorType", code)
	writeJSON(w, status, xray.ErrorBody{Type: code, Message: msg, LMessage: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}
