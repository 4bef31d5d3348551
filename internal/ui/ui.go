// Package ui serves Fluoro's web console: the bundle built from ui/ (see
// docs/ui.md) embedded in the binary, and the console's own JSON API for
// saved dashboards. Everything else is handed to the next handler (the X-Ray
// API).
//
// The console routes with the URL's hash (#/traces?f=…), so the server serves
// only "/" (index.html, revalidated on every load) and "/assets/<name>-<hash>"
// (content-hashed, cached for a year); no console path can collide with an
// X-Ray operation's path.
package ui

import (
	"bytes"
	"compress/gzip"
	"embed"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fluoro-dev/fluoro/internal/store"
)

//go:embed dist
var dist embed.FS

// Config wires the console to the server.
type Config struct {
	// Objects stores dashboards (kind "dashboard"). Required.
	Objects store.Objects
	// Next serves every request the console does not (the X-Ray API).
	Next   http.Handler
	Logger *slog.Logger
	// Now is the clock for dashboards' Updated times (time.Now when nil).
	Now func() time.Time
}

// Handler serves the console in front of cfg.Next.
type Handler struct {
	cfg    Config
	files  map[string]asset
	mux    *http.ServeMux
	seedMu sync.Mutex
	seeded bool
}

type asset struct {
	body, gz []byte
	ctype    string
}

// csp allows the page to load and call nothing but this server.
const csp = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

// New builds the handler; it compresses the embedded assets once.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Handler{cfg: cfg, files: map[string]asset{}, mux: http.NewServeMux()}
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		a := asset{body: b, ctype: mime.TypeByExtension(path.Ext(p))}
		if a.ctype == "" {
			a.ctype = "application/octet-stream"
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(b)
		zw.Close()
		if buf.Len() < len(b) {
			a.gz = buf.Bytes()
		}
		h.files["/"+p] = a
		return nil
	})
	h.mux.HandleFunc("GET /{$}", h.index)
	h.mux.HandleFunc("GET /index.html", h.index)
	h.mux.HandleFunc("GET /assets/{file}", h.asset)
	h.dashboardRoutes()
	if cfg.Next != nil {
		h.mux.Handle("/", cfg.Next)
	}
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) index(w http.ResponseWriter, r *http.Request) {
	a, ok := h.files["/index.html"]
	if !ok {
		http.Error(w, "this binary was built without the console (internal/ui/dist is empty)", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Security-Policy", csp)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-cache")
	h.write(w, r, a)
}

func (h *Handler) asset(w http.ResponseWriter, r *http.Request) {
	a, ok := h.files["/assets/"+r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	h.write(w, r, a)
}

// write sends an asset, gzipped when the client accepts it.
func (h *Handler) write(w http.ResponseWriter, r *http.Request, a asset) {
	hd := w.Header()
	hd.Set("Content-Type", a.ctype)
	hd.Add("Vary", "Accept-Encoding")
	body := a.body
	if a.gz != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		hd.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body)
}

// acceptsGzip reports whether an Accept-Encoding value allows gzip (with a
// q-value above zero, when it has one).
func acceptsGzip(ae string) bool {
	for _, part := range strings.Split(ae, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		params = strings.TrimSpace(params)
		if q, ok := strings.CutPrefix(params, "q="); ok {
			v, err := strconv.ParseFloat(q, 64)
			return err == nil && v > 0
		}
		return true
	}
	return false
}
