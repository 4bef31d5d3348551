package deploy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Path is where the API is served:
//
//	GET    /api/deployments?service=&environment=&from=&to=&limit=
//	                                  {"deployments": [Deployment…], "more": bool}, newest first
//	POST   /api/deployments            create from a Deployment (id optional) → 201 Deployment
//	GET    /api/deployments/{id}       Deployment, or 404
//	PUT    /api/deployments/{id}       replace → 200 Deployment (201 when created)
//	DELETE /api/deployments/{id}       204, or 404
//	GET    /api/deployments/{id}/gate?window=15m&min_requests=…  Result
//
// Errors are {"message": "..."} with status 400, 404, 409 (POST of a taken
// id), 413 or 500. Times are RFC 3339 (from and to also take epoch
// seconds).
const Path = "/api/deployments"

// maxBody bounds a marker's JSON.
const maxBody = 16 << 10

// Handler returns the HTTP API over s.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Path, s.list)
	mux.HandleFunc("POST "+Path, s.create)
	mux.HandleFunc("GET "+Path+"/{id}", s.get)
	mux.HandleFunc("PUT "+Path+"/{id}", s.replace)
	mux.HandleFunc("DELETE "+Path+"/{id}", s.remove)
	mux.HandleFunc("GET "+Path+"/{id}/gate", s.gateHTTP)
	return mux
}

type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

func fail(status int, format string, args ...any) error {
	return &statusError{status: status, msg: fmt.Sprintf(format, args...)}
}

// reply writes v as JSON with status, or err as {"message"} with the
// status its type implies; a nil v is 204.
func (s *Service) reply(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		var se *statusError
		var ie *InvalidError
		switch {
		case errors.As(err, &se):
		case errors.As(err, &ie):
			se = &statusError{http.StatusBadRequest, ie.Msg}
		case errors.Is(err, ErrNotFound):
			se = &statusError{http.StatusNotFound, fmt.Sprintf("no deployment %q", r.PathValue("id"))}
		default:
			s.cfg.Logger.Error("deployments API failed", "path", r.URL.Path, "err", err)
			se = &statusError{http.StatusInternalServerError, err.Error()}
		}
		w.WriteHeader(se.status)
		json.NewEncoder(w).Encode(map[string]string{"message": se.msg})
		return
	}
	if v == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		s.reply(w, r, 0, nil, err)
		return
	}
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// only rejects query parameters not in names, so a misspelt threshold is an
// error rather than a silently applied default.
func only(q url.Values, names ...string) error {
	var bad []string
	for k := range q {
		found := false
		for _, n := range names {
			found = found || k == n
		}
		if !found {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return fail(http.StatusBadRequest, "unknown parameter %q; known: %s", bad[0], strings.Join(names, ", "))
	}
	return nil
}

// ParseTime reads an RFC 3339 time or epoch seconds.
func ParseTime(v string) (time.Time, error) {
	if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f < 1e11 {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return t, fmt.Errorf("%q is neither an RFC 3339 time (2026-11-26T14:05:00Z) nor epoch seconds", v)
	}
	return t, nil
}

func (s *Service) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := parseFilter(q)
	if err != nil {
		s.reply(w, r, 0, nil, err)
		return
	}
	ds, more, err := s.List(r.Context(), f)
	s.reply(w, r, http.StatusOK, map[string]any{"deployments": ds, "more": more}, err)
}

func parseFilter(q url.Values) (Filter, error) {
	if err := only(q, "service", "environment", "from", "to", "limit"); err != nil {
		return Filter{}, err
	}
	f := Filter{Service: q.Get("service"), Environment: q.Get("environment")}
	for _, p := range []struct {
		name string
		to   *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(p.name); v != "" {
			t, err := ParseTime(v)
			if err != nil {
				return f, fail(http.StatusBadRequest, "%s: %v", p.name, err)
			}
			*p.to = t
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return f, fail(http.StatusBadRequest, "to must be after from")
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxLimit {
			return f, fail(http.StatusBadRequest, "limit %q is not an integer from 1 to %d", v, MaxLimit)
		}
		f.Limit = n
	}
	return f, nil
}

// wire is a marker as a client sends it: time is text, so that a bad one
// gets a message naming the field; updated is accepted and ignored, so a
// marker read back can be sent again.
type wire struct {
	ID          string `json:"id"`
	Service     string `json:"service"`
	Version     string `json:"version"`
	Environment string `json:"environment"`
	Time        string `json:"time"`
	Description string `json:"description"`
	Commit      string `json:"commit"`
	URL         string `json:"url"`
	Author      string `json:"author"`
	Updated     string `json:"updated"`
}

func readDeployment(r *http.Request) (Deployment, error) {
	var d Deployment
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return d, fail(http.StatusBadRequest, "read body: %v", err)
	}
	if len(b) > maxBody {
		return d, fail(http.StatusRequestEntityTooLarge, "a deployment is at most %d bytes of JSON", maxBody)
	}
	var in wire
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return d, fail(http.StatusBadRequest, "body is not a deployment: %v", err)
	}
	if dec.More() {
		return d, fail(http.StatusBadRequest, "body holds more than one JSON value")
	}
	d = Deployment{ID: in.ID, Service: in.Service, Version: in.Version, Environment: in.Environment,
		Description: in.Description, Commit: in.Commit, URL: in.URL, Author: in.Author}
	if in.Time != "" {
		t, err := time.Parse(time.RFC3339Nano, in.Time)
		if err != nil {
			return d, fail(http.StatusBadRequest, "time %q is not an RFC 3339 time such as 2026-11-26T14:05:00Z", in.Time)
		}
		d.Time = t
	}
	return d, nil
}

func (s *Service) create(w http.ResponseWriter, r *http.Request) {
	d, err := readDeployment(r)
	if err == nil {
		d, err = s.Create(r.Context(), d)
		if errors.Is(err, ErrExists) {
			err = fail(http.StatusConflict, "a deployment %q exists; PUT %s/%s replaces it", d.ID, Path, d.ID)
		}
	}
	s.reply(w, r, http.StatusCreated, d, err)
}

func (s *Service) get(w http.ResponseWriter, r *http.Request) {
	d, err := s.Get(r.Context(), r.PathValue("id"))
	s.reply(w, r, http.StatusOK, d, err)
}

func (s *Service) replace(w http.ResponseWriter, r *http.Request) {
	d, err := readDeployment(r)
	status := http.StatusOK
	if err == nil {
		var created bool
		d, created, err = s.Put(r.Context(), r.PathValue("id"), d)
		if created {
			status = http.StatusCreated
		}
	}
	s.reply(w, r, status, d, err)
}

func (s *Service) remove(w http.ResponseWriter, r *http.Request) {
	s.reply(w, r, 0, nil, s.Delete(r.Context(), r.PathValue("id")))
}

// ParseThresholds reads a gate's query parameters over the defaults:
// window and latency_slack are durations (15m, 20ms) or seconds; rates and
// increases are numbers.
func ParseThresholds(q url.Values) (Thresholds, error) {
	th := DefaultThresholds()
	if err := only(q, "window", "min_requests", "max_fault_rate_increase", "max_error_rate_increase",
		"max_p50_increase", "max_p99_increase", "latency_slack"); err != nil {
		return th, err
	}
	durations := []struct {
		name string
		to   *time.Duration
	}{{"window", &th.Window}, {"latency_slack", &th.LatencySlack}}
	for _, p := range durations {
		if v := q.Get(p.name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				f, ferr := strconv.ParseFloat(v, 64)
				if ferr != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e6 {
					return th, invalid("%s %q is not a duration such as 15m or 250ms, nor seconds", p.name, v)
				}
				d = time.Duration(f * float64(time.Second))
			}
			*p.to = d
		}
	}
	if v := q.Get("min_requests"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return th, invalid("min_requests %q is not an integer", v)
		}
		th.MinRequests = n
	}
	floats := []struct {
		name string
		to   *float64
	}{{"max_fault_rate_increase", &th.MaxFaultRateIncrease}, {"max_error_rate_increase", &th.MaxErrorRateIncrease},
		{"max_p50_increase", &th.MaxP50Increase}, {"max_p99_increase", &th.MaxP99Increase}}
	for _, p := range floats {
		if v := q.Get(p.name); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return th, invalid("%s %q is not a number", p.name, v)
			}
			*p.to = f
		}
	}
	return th, th.Validate()
}

func (s *Service) gateHTTP(w http.ResponseWriter, r *http.Request) {
	th, err := ParseThresholds(r.URL.Query())
	var res Result
	if err == nil {
		res, err = s.Gate(r.Context(), r.PathValue("id"), th)
	}
	s.reply(w, r, http.StatusOK, res, err)
}
