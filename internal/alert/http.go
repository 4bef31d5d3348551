package alert

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Path is where Handler serves the alerts API; mount the handler at Path
// and Path + "/":
//
//	GET    /api/alerts               {"alerts": [RuleStatus…]} ordered by name
//	POST   /api/alerts               create from a Rule → 201 RuleStatus (409 if the name exists)
//	GET    /api/alerts/{name}        RuleStatus, or 404
//	PUT    /api/alerts/{name}        create or replace → 200 RuleStatus
//	DELETE /api/alerts/{name}        204, or 404
//	GET    /api/alerts/{name}/events {"events": [Event…]} newest first
//	POST   /api/alerts/{name}/test   evaluate now, changing nothing → TestResult;
//	                                 with a Rule body, that definition (unsaved);
//	                                 with none, the stored rule (404 if none)
//
// Errors are {"message": "..."} with status 400, 404, 405, 409, 413 or 500.
const Path = "/api/alerts"

const maxBody = 64 << 10

// TestResult is the answer of POST /api/alerts/{name}/test.
type TestResult struct {
	Result
	// State is the state the rule would move to from its current one.
	State string `json:"state"`
}

type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// Handler serves the alerts API.
func (m *Manager) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+Path, func(w http.ResponseWriter, r *http.Request) {
		m.reply(w, http.StatusOK, map[string]any{"alerts": m.List()}, nil)
	})
	mux.HandleFunc("POST "+Path, func(w http.ResponseWriter, r *http.Request) {
		rule, err := readRule(r, "")
		if err == nil {
			var rs RuleStatus
			rs, err = m.Put(r.Context(), rule, true)
			if errors.Is(err, ErrExists) {
				err = &httpError{http.StatusConflict, fmt.Sprintf("an alert rule %q exists; PUT %s/%s replaces it", rule.Name, Path, rule.Name)}
			}
			m.reply(w, http.StatusCreated, rs, err)
			return
		}
		m.reply(w, 0, nil, err)
	})
	mux.HandleFunc("GET "+Path+"/{name}", func(w http.ResponseWriter, r *http.Request) {
		rs, ok := m.Get(r.PathValue("name"))
		if !ok {
			m.reply(w, 0, nil, notFound(r.PathValue("name")))
			return
		}
		m.reply(w, http.StatusOK, rs, nil)
	})
	mux.HandleFunc("PUT "+Path+"/{name}", func(w http.ResponseWriter, r *http.Request) {
		rule, err := readRule(r, r.PathValue("name"))
		if err != nil {
			m.reply(w, 0, nil, err)
			return
		}
		rs, err := m.Put(r.Context(), rule, false)
		m.reply(w, http.StatusOK, rs, err)
	})
	mux.HandleFunc("DELETE "+Path+"/{name}", func(w http.ResponseWriter, r *http.Request) {
		ok, err := m.Delete(r.Context(), r.PathValue("name"))
		if err == nil && !ok {
			err = notFound(r.PathValue("name"))
		}
		m.reply(w, 0, nil, err)
	})
	mux.HandleFunc("GET "+Path+"/{name}/events", func(w http.ResponseWriter, r *http.Request) {
		evs, ok := m.Events(r.PathValue("name"))
		if !ok {
			m.reply(w, 0, nil, notFound(r.PathValue("name")))
			return
		}
		m.reply(w, http.StatusOK, map[string]any{"events": evs}, nil)
	})
	mux.HandleFunc("POST "+Path+"/{name}/test", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		b, err := readBody(r)
		if err != nil {
			m.reply(w, 0, nil, err)
			return
		}
		var rule Rule
		if len(b) == 0 {
			rs, ok := m.Get(name)
			if !ok {
				m.reply(w, 0, nil, notFound(name))
				return
			}
			rule = rs.Rule
		} else if rule, err = ruleFrom(b, name); err != nil {
			m.reply(w, 0, nil, err)
			return
		}
		res, state, err := m.Test(r.Context(), rule)
		m.reply(w, http.StatusOK, TestResult{res, state}, err)
	})
	// Anything else gets a JSON 405 (with Allow) or 404, not the mux's text.
	mux.HandleFunc(Path, func(w http.ResponseWriter, r *http.Request) { m.notAllowed(w, r, "GET, POST") })
	mux.HandleFunc(Path+"/", func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, Path+"/"), "/")
		switch {
		case len(parts) == 1 && parts[0] != "":
			m.notAllowed(w, r, "GET, PUT, DELETE")
		case len(parts) == 2 && parts[0] != "" && parts[1] == "events":
			m.notAllowed(w, r, "GET")
		case len(parts) == 2 && parts[0] != "" && parts[1] == "test":
			m.notAllowed(w, r, "POST")
		default:
			m.reply(w, 0, nil, &httpError{http.StatusNotFound, fmt.Sprintf("no alerts API at %s", r.URL.Path)})
		}
	})
	return mux
}

func (m *Manager) notAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	m.reply(w, 0, nil, &httpError{http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: the methods allowed are %s", r.Method, r.URL.Path, allow)})
}

func notFound(name string) error {
	return &httpError{http.StatusNotFound, fmt.Sprintf("no alert rule %q", name)}
}

func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, &httpError{http.StatusBadRequest, "read body: " + err.Error()}
	}
	if len(b) > maxBody {
		return nil, &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("an alert rule is at most %d bytes of JSON", maxBody)}
	}
	return b, nil
}

// readRule reads a rule from the body; name, when set, is the path's, which
// the body's must equal when it has one.
func readRule(r *http.Request, name string) (Rule, error) {
	b, err := readBody(r)
	if err != nil {
		return Rule{}, err
	}
	return ruleFrom(b, name)
}

func ruleFrom(b []byte, name string) (Rule, error) {
	rule, err := decodeRule(b)
	if err != nil {
		return rule, err
	}
	if name != "" {
		if rule.Name != "" && rule.Name != name {
			return rule, invalidf("body name %q differs from the path's %q", rule.Name, name)
		}
		rule.Name = name
	}
	rule.Updated = time.Time{}
	return rule, nil
}

func (m *Manager) reply(w http.ResponseWriter, status int, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		var he *httpError
		var ve *ValidationError
		switch {
		case errors.As(err, &he):
		case errors.As(err, &ve):
			he = &httpError{http.StatusBadRequest, ve.Msg}
		default:
			m.cfg.Logger.Error("alerts API failed", "err", err)
			he = &httpError{http.StatusInternalServerError, err.Error()}
		}
		w.WriteHeader(he.status)
		json.NewEncoder(w).Encode(map[string]string{"message": he.msg})
		return
	}
	if v == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		m.reply(w, 0, nil, err)
		return
	}
	w.WriteHeader(status)
	w.Write(b)
}
