package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/fluoro-dev/fluoro/internal/daemon"
	"github.com/fluoro-dev/fluoro/internal/server"
)

// The deployment files under deploy/ are checked against the code: every
// command line they hold must parse as `fluoro server` or `fluoro daemon`
// parses it, and the ports they publish must be the ones those command lines
// (or the defaults) bind.

const deployDir = "../../deploy"

// portOf returns the port of a host:port.
func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// serverFlags are the flags `fluoro server` accepts, read from its own help.
func serverFlags(t *testing.T) map[string]bool {
	t.Helper()
	var stderr bytes.Buffer
	if err := run(t.Context(), []string{"server", "-h"}, io.Discard, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("server -h: %v", err)
	}
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z-]+)`).FindAllStringSubmatch(stderr.String(), -1) {
		flags[m[1]] = true
	}
	if !flags["http"] || !flags["udp"] || !flags["data"] {
		t.Fatalf("could not read the server's flags from its help: %v", flags)
	}
	return flags
}

// commandLine is what a deployment file runs.
type commandLine struct {
	where string
	args  []string          // after the binary: "server …" or "daemon …"
	env   map[string]string // literal environment values
}

// ports are the ports a command line binds: its UDP and main TCP port, and
// all of them as "2000/UDP", "4317/TCP"…, sorted.
type ports struct {
	udp, tcp int
	all      []string
}

func bound(udp, tcp int, moreTCP ...int) ports {
	p := ports{udp: udp, tcp: tcp, all: []string{strconv.Itoa(udp) + "/UDP", strconv.Itoa(tcp) + "/TCP"}}
	for _, m := range moreTCP {
		p.all = append(p.all, strconv.Itoa(m)+"/TCP")
	}
	slices.Sort(p.all)
	return p
}

// check parses a command line as the binary would and returns its ports.
func (c commandLine) check(t *testing.T, serverFlagSet map[string]bool) ports {
	t.Helper()
	if len(c.args) == 0 {
		t.Fatalf("%s: empty command", c.where)
	}
	switch c.args[0] {
	case "daemon":
		env := func(k string) (string, bool) { v, ok := c.env[k]; return v, ok }
		cfg, _, _, err := daemonConfig(c.args[1:], env, io.Discard)
		if err != nil {
			t.Fatalf("%s: fluoro daemon %q: %v", c.where, c.args[1:], err)
		}
		return bound(portOf(t, cfg.UDP), portOf(t, cfg.TCP))
	case "server":
		cfg := server.Default()
		for i := 1; i < len(c.args); i++ {
			name := strings.TrimLeft(c.args[i], "-")
			if !strings.HasPrefix(c.args[i], "-") || !serverFlagSet[name] {
				t.Fatalf("%s: fluoro server has no flag %q", c.where, c.args[i])
			}
			if i+1 >= len(c.args) {
				t.Fatalf("%s: flag %s has no value", c.where, c.args[i])
			}
			i++
			switch name {
			case "udp":
				cfg.UDP = c.args[i]
			case "http":
				cfg.HTTP = c.args[i]
			case "data":
				cfg.Data = c.args[i]
			case "otlp-grpc":
				cfg.OTLPGRPC = c.args[i]
			case "otlp-http":
				cfg.OTLPHTTP = c.args[i]
			}
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("%s: fluoro server %q: %v", c.where, c.args[1:], err)
		}
		var otlp []int
		for _, a := range []string{cfg.OTLPGRPC, cfg.OTLPHTTP} {
			if a != "" {
				otlp = append(otlp, portOf(t, a))
			}
		}
		return bound(portOf(t, cfg.UDP), portOf(t, cfg.HTTP), otlp...)
	}
	t.Fatalf("%s: unknown subcommand %q", c.where, c.args[0])
	return ports{}
}

func TestDockerfile(t *testing.T) {
	f, err := os.Open(filepath.Join(deployDir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	goVersion := goModVersion(t)
	var stages, user, entrypoint, cmd string
	var exposed []string
	var static, built, hasCA bool
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		instr, rest, _ := strings.Cut(line, " ")
		switch strings.ToUpper(instr) {
		case "FROM":
			stages += rest + ";"
		case "ENV":
			static = static || strings.Contains(rest, "CGO_ENABLED=0")
		case "RUN":
			for _, bad := range []string{"curl", "wget", "apt-get", "apk ", "git clone", "http://", "https://"} {
				if strings.Contains(rest, bad) {
					t.Errorf("Dockerfile:%d downloads outside the Go module proxy (%q): %s", n, bad, line)
				}
			}
			built = built || strings.Contains(rest, "go build") && strings.Contains(rest, "./cmd/fluoro")
		case "ADD":
			t.Errorf("Dockerfile:%d: ADD can fetch URLs; use COPY: %s", n, line)
		case "COPY":
			hasCA = hasCA || strings.Contains(rest, "ca-certificates")
		case "USER":
			user = rest
		case "EXPOSE":
			exposed = strings.Fields(rest)
		case "ENTRYPOINT":
			entrypoint = rest
		case "CMD":
			cmd = rest
		}
	}
	if !strings.Contains(stages, "golang:"+goVersion+" AS build") || !strings.Contains(stages, "scratch") {
		t.Errorf("stages %q: want a golang:%s build stage (go.mod's version) and a scratch image", stages, goVersion)
	}
	if !static || !built || !hasCA {
		t.Errorf("static (CGO_ENABLED=0) %v, builds ./cmd/fluoro %v, copies CA certificates %v: want all", static, built, hasCA)
	}
	if uid, _, _ := strings.Cut(user, ":"); uid == "" || uid == "0" || uid == "root" {
		t.Errorf("USER %q: want a non-root user", user)
	}
	if entrypoint != `["/fluoro"]` {
		t.Errorf("ENTRYPOINT %s, want [\"/fluoro\"]", entrypoint)
	}
	var args []string
	if err := yaml.Unmarshal([]byte(cmd), &args); err != nil {
		t.Fatalf("CMD %s: %v", cmd, err)
	}
	p := commandLine{where: "Dockerfile CMD", args: args}.check(t, serverFlags(t))
	want := strings.ToLower(strings.Join(p.all, " "))
	slices.Sort(exposed)
	if strings.Join(exposed, " ") != want {
		t.Errorf("EXPOSE %v, want %v (the CMD's ports)", exposed, want)
	}
	if d := portOf(t, daemon.DefaultAddress); p.udp != d || p.tcp != d {
		t.Errorf("image ports %+v, want the X-Ray default %d for both", p, d)
	}
}

func goModVersion(t *testing.T) string {
	b, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no go line in go.mod")
	}
	return string(m[1])
}

// k8s is the part of a Kubernetes object the check reads.
type k8s struct {
	Kind     string
	Metadata struct{ Name, Namespace string }
	Spec     struct {
		// Selector is {matchLabels: {…}} in workloads, flat in Services.
		Selector map[string]any `yaml:"selector"`
		Template struct {
			Metadata struct{ Labels map[string]string }
			Spec     podSpec
		}
		VolumeClaimTemplates []struct{ Metadata struct{ Name string } } `yaml:"volumeClaimTemplates"`
		// Service
		Ports []struct {
			Name       string
			Port       int
			TargetPort any `yaml:"targetPort"`
			Protocol   string
		}
	}
}

type podSpec struct {
	SecurityContext struct {
		RunAsNonRoot bool `yaml:"runAsNonRoot"`
		RunAsUser    int  `yaml:"runAsUser"`
	} `yaml:"securityContext"`
	Containers []struct {
		Name  string
		Image string
		Args  []string
		Env   []struct{ Name, Value string }
		Ports []struct {
			Name          string
			ContainerPort int `yaml:"containerPort"`
			HostPort      int `yaml:"hostPort"`
			Protocol      string
		}
		VolumeMounts []struct {
			Name      string
			MountPath string `yaml:"mountPath"`
		} `yaml:"volumeMounts"`
		SecurityContext struct {
			RunAsNonRoot bool `yaml:"runAsNonRoot"`
		} `yaml:"securityContext"`
		ReadinessProbe *struct {
			HTTPGet struct {
				Path string
				Port string
			} `yaml:"httpGet"`
		} `yaml:"readinessProbe"`
	}
	Volumes []struct{ Name string }
}

func TestKubernetesManifests(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(deployDir, "kubernetes", "*.yaml"))
	if len(files) < 4 {
		t.Fatalf("manifests: %v; want server, daemonset, sidecar and central", files)
	}
	flags := serverFlags(t)
	var objs []k8s
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(f)
		for {
			var o k8s
			if err := dec.Decode(&o); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			objs = append(objs, o)
		}
		f.Close()
	}
	kinds := map[string]int{}
	// namedPorts: for each workload's labels, its container ports by name.
	type workload struct {
		labels map[string]string
		ports  map[string]string // name → "2000/UDP"
	}
	var workloads []workload
	var serverAPI int
	for _, o := range objs {
		kinds[o.Kind]++
		if o.Kind != "Deployment" && o.Kind != "DaemonSet" && o.Kind != "StatefulSet" {
			continue
		}
		where := filepath.Base(o.Kind) + "/" + o.Metadata.Name
		w := workload{labels: o.Spec.Template.Metadata.Labels, ports: map[string]string{}}
		match, _ := o.Spec.Selector["matchLabels"].(map[string]any)
		if len(match) == 0 {
			t.Errorf("%s: no selector.matchLabels", where)
		}
		for k, v := range match {
			if w.labels[k] != v {
				t.Errorf("%s: selector %s=%s does not match the pod's labels", where, k, v)
			}
		}
		pod := o.Spec.Template.Spec
		volumes := map[string]bool{}
		for _, v := range pod.Volumes {
			volumes[v.Name] = true
		}
		for _, v := range o.Spec.VolumeClaimTemplates {
			volumes[v.Metadata.Name] = true
		}
		found := false
		for _, c := range pod.Containers {
			if c.Image != "fluoro:latest" {
				continue
			}
			found = true
			cwhere := where + " container " + c.Name
			if !pod.SecurityContext.RunAsNonRoot && !c.SecurityContext.RunAsNonRoot {
				t.Errorf("%s: not runAsNonRoot", cwhere)
			}
			env := map[string]string{}
			for _, e := range c.Env {
				if e.Value != "" {
					env[e.Name] = e.Value
				}
			}
			p := commandLine{where: cwhere, args: c.Args, env: env}.check(t, flags)
			var declared []string
			for _, cp := range c.Ports {
				declared = append(declared, strconv.Itoa(cp.ContainerPort)+"/"+cp.Protocol)
				w.ports[cp.Name] = strconv.Itoa(cp.ContainerPort) + "/" + cp.Protocol
				if cp.HostPort != 0 && cp.HostPort != cp.ContainerPort {
					t.Errorf("%s: hostPort %d differs from containerPort %d", cwhere, cp.HostPort, cp.ContainerPort)
				}
			}
			slices.Sort(declared)
			if !slices.Equal(declared, p.all) {
				t.Errorf("%s: declares ports %v, but its command binds %v", cwhere, declared, p.all)
			}
			// Every path flag must be on a mounted volume.
			mounts := map[string]bool{}
			for _, m := range c.VolumeMounts {
				if !volumes[m.Name] {
					t.Errorf("%s: mounts unknown volume %q", cwhere, m.Name)
				}
				mounts[m.MountPath] = true
			}
			for i, a := range c.Args {
				if (a == "--spool-dir" || a == "--data") && !mounts[c.Args[i+1]] {
					t.Errorf("%s: %s %s is not a mounted volume (the root filesystem is read-only)", cwhere, a, c.Args[i+1])
				}
			}
			if c.Args[0] == "server" {
				serverAPI = p.tcp
				if len(o.Spec.VolumeClaimTemplates) == 0 {
					t.Errorf("%s: the server's data is not on a PersistentVolumeClaim", where)
				}
			}
			if c.Args[0] == "daemon" {
				if !strings.Contains(strings.Join(c.Args, " "), "--endpoint http://fluoro-server.fluoro.svc:") {
					t.Errorf("%s: daemon does not point at the fluoro-server Service", cwhere)
				}
			}
			if pr := c.ReadinessProbe; pr != nil && (pr.HTTPGet.Path != "/healthz" || !strings.HasSuffix(w.ports[pr.HTTPGet.Port], "/TCP")) {
				t.Errorf("%s: readiness probe %+v is not /healthz on a TCP port", cwhere, pr.HTTPGet)
			}
		}
		if !found {
			t.Errorf("%s: runs no fluoro container", where)
		}
		workloads = append(workloads, w)
	}
	for _, k := range []string{"StatefulSet", "DaemonSet", "Deployment", "Service"} {
		if kinds[k] == 0 {
			t.Errorf("no %s among the manifests", k)
		}
	}
	// Services: each port targets a named container port of the same
	// number and protocol in the workload it selects.
	for _, o := range objs {
		if o.Kind != "Service" {
			continue
		}
		var w *workload
		for i := range workloads {
			match := len(o.Spec.Selector) > 0
			for k, v := range o.Spec.Selector {
				match = match && workloads[i].labels[k] == v
			}
			if match {
				w = &workloads[i]
			}
		}
		if w == nil {
			t.Errorf("Service %s selects no workload", o.Metadata.Name)
			continue
		}
		for _, sp := range o.Spec.Ports {
			name, _ := sp.TargetPort.(string)
			if got, want := w.ports[name], strconv.Itoa(sp.Port)+"/"+sp.Protocol; got != want {
				t.Errorf("Service %s port %s: targets %q = %q, want %s", o.Metadata.Name, sp.Name, name, got, want)
			}
		}
	}
	if serverAPI == 0 {
		t.Fatal("no server workload")
	}
	for _, o := range objs {
		if o.Kind != "Deployment" && o.Kind != "DaemonSet" {
			continue
		}
		for _, c := range o.Spec.Template.Spec.Containers {
			for i, a := range c.Args {
				if a == "--endpoint" && !strings.HasSuffix(c.Args[i+1], ":"+strconv.Itoa(serverAPI)) {
					t.Errorf("%s: --endpoint %s is not the server's API port %d", o.Metadata.Name, c.Args[i+1], serverAPI)
				}
			}
		}
	}
}

func TestSystemdUnits(t *testing.T) {
	flags := serverFlags(t)
	units := map[string]ports{}
	var daemonEndpoint string
	for _, name := range []string{"fluoro-server.service", "fluoro-daemon.service"} {
		f, err := os.Open(filepath.Join(deployDir, "systemd", name))
		if err != nil {
			t.Fatal(err)
		}
		keys := map[string]string{}
		section := ""
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			switch {
			case line == "" || line[0] == '#' || line[0] == ';':
			case line[0] == '[' && line[len(line)-1] == ']':
				section = line[1 : len(line)-1]
			default:
				k, v, ok := strings.Cut(line, "=")
				if !ok || section == "" {
					t.Fatalf("%s:%d: not a key=value line in a section: %q", name, n, line)
				}
				keys[section+"."+k] = v
			}
		}
		f.Close()
		exec := strings.Fields(keys["Service.ExecStart"])
		if len(exec) < 2 || exec[0] != "/usr/local/bin/fluoro" {
			t.Fatalf("%s: ExecStart %q does not run /usr/local/bin/fluoro", name, keys["Service.ExecStart"])
		}
		units[exec[1]] = commandLine{where: name, args: exec[1:]}.check(t, flags)
		if keys["Service.DynamicUser"] != "yes" && (keys["Service.User"] == "" || keys["Service.User"] == "root") {
			t.Errorf("%s: runs as root", name)
		}
		if keys["Install.WantedBy"] != "multi-user.target" {
			t.Errorf("%s: WantedBy %q", name, keys["Install.WantedBy"])
		}
		if exec[1] == "daemon" {
			cfg, _, _, _ := daemonConfig(exec[2:], func(string) (string, bool) { return "", false }, io.Discard)
			daemonEndpoint = cfg.Endpoint
			if !strings.HasPrefix(cfg.SpoolDir, "/var/lib/"+keys["Service.StateDirectory"]) {
				t.Errorf("%s: spool %s is not in its StateDirectory %q", name, cfg.SpoolDir, keys["Service.StateDirectory"])
			}
		}
	}
	d, s := units["daemon"], units["server"]
	if def := portOf(t, daemon.DefaultAddress); d.udp != def || d.tcp != def {
		t.Errorf("daemon unit binds %+v, want the X-Ray default %d", d, def)
	}
	if s.tcp == d.tcp || s.udp == d.udp {
		t.Errorf("server %+v and daemon %+v units share a port on one host", s, d)
	}
	if !strings.HasSuffix(daemonEndpoint, ":"+strconv.Itoa(s.tcp)) {
		t.Errorf("daemon --endpoint %s is not the server unit's API port %d", daemonEndpoint, s.tcp)
	}
}
