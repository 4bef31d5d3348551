package otlp

import (
	"github.com/fluoro-dev/fluoro/internal/model"
)

// arenaSize is the size of the buffers documents are written into: many
// documents share one allocation.
const arenaSize = 64 << 10

// render appends to out the document of top-level d with its embedded
// subsegments, and then, as documents of their own, the subsegments past
// maxEmbedded. Documents are written into *arena (a fresh buffer when little
// room is left).
func (d *doc) render(rc *resourceCtx, arena *[]byte, out []model.Span) []model.Span {
	var detached []*doc
	budget := maxEmbedded
	if cap(*arena)-len(*arena) < 4096 {
		*arena = make([]byte, 0, arenaSize)
	}
	w := jsonw{b: *arena}
	start := len(w.b)
	d.write(&w, rc, true, &budget, &detached)
	*arena = w.b
	out = append(out, model.Span{TraceID: d.traceID, Independent: d.independent, Root: d.e, Doc: w.b[start:len(w.b):len(w.b)]})
	for _, x := range detached {
		out = x.render(rc, arena, out)
	}
	return out
}

// write writes d as a JSON object, top-level or embedded, with the children
// the budget allows; the others are added to detached, to be sent on their
// own. It fills d.e.Subsegments with the embedded children's entities. Every
// field of d.e is written so that xray.Decode reads back the same entity.
func (d *doc) write(w *jsonw, rc *resourceCtx, top bool, budget *int, detached *[]*doc) {
	e := &d.e
	if !top {
		e.ParentID = 0 // implied by the nesting
	}
	w.open()
	if top {
		w.key("trace_id")
		w.traceID(d.traceID)
	}
	w.key("id")
	w.spanID(e.ID)
	if top && e.ParentID != 0 {
		w.key("parent_id")
		w.spanID(e.ParentID)
	}
	if top && d.independent {
		w.key("type")
		w.str("subsegment")
	}
	w.key("name")
	w.str(e.Name)
	w.key("start_time")
	w.float(e.Start)
	w.key("end_time")
	w.float(e.End)
	w.strField("namespace", e.Namespace)
	w.strField("origin", e.Origin)
	w.strField("user", e.User)
	if e.Fault {
		w.key("fault")
		w.boolean(true)
	}
	if e.Error {
		w.key("error")
		w.boolean(true)
	}
	if e.Throttle {
		w.key("throttle")
		w.boolean(true)
	}
	d.writeHTTP(w)
	d.writeAWS(w, rc)
	if s := e.SQL; s != nil {
		w.key("sql")
		w.open()
		w.strField("url", s.URL)
		w.strField("connection_string", d.sqlConn)
		w.strField("database_type", s.DatabaseType)
		w.strField("sanitized_query", s.SanitizedQuery)
		w.strField("user", s.User)
		w.close()
	}
	if d.segment && rc.attrs.version != "" {
		w.key("service")
		w.open()
		w.strField("version", rc.attrs.version)
		w.close()
	}
	d.writeCause(w)
	if len(e.Annotations) > 0 {
		w.key("annotations")
		w.open()
		for _, a := range e.Annotations {
			w.key(a.Key)
			switch a.Value.Kind {
			case model.String:
				w.str(a.Value.Str)
			case model.Number:
				w.float(a.Value.Num)
			case model.Bool:
				w.boolean(a.Value.Bool)
			}
		}
		w.close()
	}
	if len(d.metaKeys) > 0 || (d.segment && len(rc.meta) > 0) {
		w.key("metadata")
		w.open()
		w.key("default")
		w.open()
		for i, k := range d.metaKeys {
			w.key(k)
			w.value(d.metaVals[i], 0)
		}
		if d.segment && len(rc.meta) > 0 {
			w.sep()
			w.b = append(w.b, rc.meta...)
			w.need = true
		}
		w.close()
		w.close()
	}
	if d.hasLinks {
		w.key("links")
		w.openArray()
		for i := 0; i < d.links.Len(); i++ {
			l := d.links.At(i)
			w.open()
			w.key("trace_id")
			w.traceID(d.linkIDs[i])
			w.key("id")
			w.str(idString(l.SpanID()))
			if l.Attributes().Len() > 0 {
				w.key("attributes")
				w.open()
				for k, v := range l.Attributes().All() {
					w.key(k)
					w.value(v, 0)
				}
				w.close()
			}
			w.close()
		}
		w.closeArray()
	}
	if len(d.children) > 0 {
		var kids []*doc
		for _, c := range d.children {
			if *budget > 0 {
				*budget--
				kids = append(kids, c)
			} else {
				*detached = append(*detached, c)
			}
		}
		if len(kids) > 0 {
			w.key("subsegments")
			w.openArray()
			e.Subsegments = make([]model.Entity, len(kids))
			for i, c := range kids {
				c.write(w, rc, false, budget, detached)
				e.Subsegments[i] = c.e
			}
			w.closeArray()
		}
	}
	w.close()
}

func (d *doc) writeHTTP(w *jsonw) {
	h := &d.e.HTTP
	if *h == (model.HTTP{}) && d.contentLength == 0 {
		return
	}
	w.key("http")
	w.open()
	if h.Method != "" || h.URL != "" || h.UserAgent != "" || h.ClientIP != "" {
		w.key("request")
		w.open()
		w.strField("method", h.Method)
		w.strField("url", h.URL)
		w.strField("user_agent", h.UserAgent)
		w.strField("client_ip", h.ClientIP)
		if d.forwarded && h.ClientIP != "" {
			w.key("x_forwarded_for")
			w.boolean(true)
		}
		w.close()
	}
	if h.Status != 0 || d.contentLength != 0 {
		w.key("response")
		w.open()
		if h.Status != 0 {
			w.key("status")
			w.int(int64(h.Status))
		}
		if d.contentLength != 0 {
			w.key("content_length")
			w.int(d.contentLength)
		}
		w.close()
	}
	w.close()
}

func (d *doc) writeAWS(w *jsonw, rc *resourceCtx) {
	e := &d.e
	c := &e.AWS
	r := &rc.attrs
	hasCall := *c != (model.AWSCall{}) || d.awsRequestID != "" || len(d.awsTableNames) > 0
	if !hasCall && !d.segment {
		return
	}
	if d.segment && !hasCall && e.AccountID == "" && e.InstanceID == "" && e.AvailabilityZone == "" && r.sdkName == "" &&
		r.cloudPlatform != "aws_ecs" && r.cloudPlatform != "aws_eks" && r.cluster == "" {
		return
	}
	w.key("aws")
	w.open()
	w.strField("account_id", e.AccountID)
	w.strField("operation", c.Operation)
	w.strField("region", c.Region)
	w.strField("request_id", d.awsRequestID)
	w.strField("queue_url", c.QueueURL)
	w.strField("table_name", c.TableName)
	if len(d.awsTableNames) > 0 {
		w.key("table_names")
		w.openArray()
		for _, t := range d.awsTableNames {
			w.str(t)
		}
		w.closeArray()
	}
	w.strField("bucket_name", c.Bucket)
	w.strField("function_name", c.Function)
	if d.segment {
		if e.InstanceID != "" || r.cloudPlatform == "aws_ec2" {
			w.key("ec2")
			w.open()
			w.strField("instance_id", e.InstanceID)
			w.strField("availability_zone", e.AvailabilityZone)
			w.strField("instance_size", r.hostType)
			w.strField("ami_id", r.imageID)
			w.close()
		}
		if r.cloudPlatform == "aws_ecs" {
			w.key("ecs")
			w.open()
			w.strField("container", r.container)
			w.strField("container_id", r.containerID)
			w.strField("launch_type", r.launchType)
			w.close()
		}
		if r.cloudPlatform == "aws_eks" || r.cluster != "" {
			w.key("eks")
			w.open()
			w.strField("cluster_name", r.cluster)
			w.strField("pod", r.pod)
			w.strField("container_id", r.containerID)
			w.close()
		}
		if r.sdkName != "" {
			w.key("xray")
			w.open()
			sdk := r.sdkName
			if r.sdkLanguage != "" {
				sdk += " for " + r.sdkLanguage
			}
			w.strField("sdk", sdk)
			w.strField("sdk_version", r.sdkVersion)
			w.key("auto_instrumentation")
			w.boolean(r.autoVersion != "")
			w.close()
		}
	}
	w.close()
}

func (d *doc) writeCause(w *jsonw) {
	if len(d.exceptions) == 0 {
		return
	}
	w.key("cause")
	w.open()
	w.key("exceptions")
	w.openArray()
	for _, x := range d.exceptions {
		w.open()
		w.strField("id", x.ID)
		w.strField("type", x.Type)
		w.strField("message", x.Message)
		if x.Remote {
			w.key("remote")
			w.boolean(true)
		}
		w.strField("cause", x.cause)
		if len(x.stack) > 0 {
			w.key("stack")
			w.openArray()
			for _, f := range x.stack {
				w.open()
				w.strField("path", f.path)
				w.key("line")
				w.int(int64(f.line))
				w.strField("label", f.label)
				w.close()
			}
			w.closeArray()
		}
		w.close()
	}
	w.closeArray()
	w.close()
}
