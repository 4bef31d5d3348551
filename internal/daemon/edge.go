package daemon

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fluoro-dev/fluoro/internal/model"
	"github.com/fluoro-dev/fluoro/internal/redact"
	"github.com/fluoro-dev/fluoro/internal/tailsample"
	"github.com/fluoro-dev/fluoro/internal/xray"
)

// edgeSampler is tail sampling at the edge: documents are decoded and
// buffered per trace by a tailsample.Sampler, and only the traces it keeps
// reach the relay. A document that does not decode is passed on unchanged,
// so that the server rejects it and counts it as it would without the
// sampler. The server does not learn which policy kept a trace; the
// daemon's fluoro_tailsample_* metrics count the decisions.
type edgeSampler struct {
	s     *tailsample.Sampler
	relay *relay
}

func newEdgeSampler(cfg tailsample.Config, r *relay, reg prometheus.Registerer, log *slog.Logger) (*edgeSampler, error) {
	e := &edgeSampler{relay: r}
	sink := tailsample.SinkFunc(func(_ context.Context, _ string, spans []model.Span) error {
		for i := range spans {
			r.add(spans[i].Doc)
		}
		return nil
	})
	var err error
	if e.s, err = tailsample.New(context.Background(), cfg, sink, tailsample.Options{Logger: log, Registerer: reg}); err != nil {
		return nil, err
	}
	e.s.Start()
	return e, nil
}

// add decodes one document read from a datagram (a buffer the reader
// reuses, so it is copied first) and offers it to the sampler.
func (e *edgeSampler) add(doc []byte) {
	own := append([]byte(nil), doc...)
	spans, err := xray.Decode(own)
	if err != nil {
		e.relay.add(own)
		return
	}
	e.s.Offer(spans)
}

// spans offers documents the OTLP receiver mapped.
func (e *edgeSampler) spans(spans []model.Span) { e.s.Offer(spans) }

// close decides every buffered trace and hands the kept ones to the relay.
func (e *edgeSampler) close(ctx context.Context) error { return e.s.Close(ctx) }

// redactor drops and masks sensitive data in every document before it goes
// on (to the edge sampler or the relay). A document that does not parse is
// passed on unchanged: the server rejects and counts it.
type redactor struct {
	r    *redact.Redactor
	next adder
	m    *metrics
}

func (d *redactor) add(doc []byte) {
	out, changed, err := d.r.Document(nil, doc)
	if err == nil && changed {
		d.m.redacted.Inc()
	}
	d.next.add(out)
}

// spans redacts documents the OTLP receiver mapped, in place of their Doc.
func (d *redactor) spans(spans []model.Span) {
	for i := range spans {
		if out, changed, err := d.r.Document(nil, spans[i].Doc); err == nil && changed {
			spans[i].Doc = out
			d.m.redacted.Inc()
		}
	}
}
