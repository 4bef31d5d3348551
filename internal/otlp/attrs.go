package otlp

import (
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// spanAttrs holds the span attributes the mapping gives a meaning, under
// both the old (before semantic conventions 1.21) and new names. Attributes
// that map to a document field are consumed; the others become annotations
// or metadata.
type spanAttrs struct {
	// http
	method, url, scheme, host, target, path, query, userAgent, clientIP, peerIP string
	peerName, port                                                              string
	status, contentLength                                                       int64
	hasHTTP, hasForwarded                                                       bool
	// rpc and aws
	rpcSystem, rpcService, rpcMethod                      string
	awsOperation, awsRegion, awsRequestID, awsQueueURL    string
	awsTableName, awsBucket, awsFunction, awsService      string
	awsTableNames                                         []string
	peerService, remoteService, localService, awsSpanKind string
	// database
	dbSystem, dbName, dbStatement, dbUser, dbConnection string
	// messaging
	msgSystem, msgDestination string
	// other
	user        string
	annotateAll []string // aws.xray.annotations: keys to index even if consumed
}

// consume reads one attribute into a, reporting whether the attribute was
// mapped to a document field (and so is not repeated as an annotation).
func (a *spanAttrs) consume(k string, v pcommon.Value) bool {
	switch k {
	case "http.method", "http.request.method":
		a.method, a.hasHTTP = v.AsString(), true
	case "http.status_code", "http.response.status_code":
		a.status, a.hasHTTP = intOf(v), true
	case "http.url", "url.full":
		a.url, a.hasHTTP = v.AsString(), true
	case "http.scheme", "url.scheme":
		a.scheme = v.AsString()
	case "http.host", "http.server_name":
		a.host, a.hasHTTP = v.AsString(), true
	case "server.address", "net.host.name":
		if a.host == "" || k == "server.address" {
			a.host = v.AsString()
		}
		return false // also names database and rpc peers: keep it visible
	case "net.peer.name":
		a.peerName = v.AsString()
		return false
	case "server.port", "net.host.port", "net.peer.port":
		a.port = v.AsString()
		return false
	case "http.target":
		a.target = v.AsString()
	case "url.path":
		a.path = v.AsString()
	case "url.query":
		a.query = v.AsString()
	case "http.user_agent", "user_agent.original":
		a.userAgent, a.hasHTTP = v.AsString(), true
	case "http.client_ip", "client.address":
		a.clientIP, a.hasForwarded = v.AsString(), true
	case "net.peer.ip", "network.peer.address", "net.sock.peer.addr":
		a.peerIP = v.AsString()
		return false
	case "http.response_content_length", "http.response.body.size":
		a.contentLength = intOf(v)
	case "rpc.system":
		a.rpcSystem = v.AsString()
		return false
	case "rpc.service":
		a.rpcService = v.AsString()
		return false
	case "rpc.method":
		a.rpcMethod = v.AsString()
		return false
	case "aws.operation":
		a.awsOperation = v.AsString()
	case "aws.region":
		a.awsRegion = v.AsString()
	case "aws.request_id", "aws.requestId":
		a.awsRequestID = v.AsString()
	case "aws.queue_url", "aws.queue.url", "aws.sqs.queue.url", "messaging.url":
		a.awsQueueURL = v.AsString()
	case "aws.table_name", "aws.table.name":
		a.awsTableName = v.AsString()
	case "aws.dynamodb.table_names":
		if v.Type() == pcommon.ValueTypeSlice {
			s := v.Slice()
			for i := 0; i < s.Len(); i++ {
				a.awsTableNames = append(a.awsTableNames, s.At(i).AsString())
			}
		} else {
			a.awsTableNames = append(a.awsTableNames, v.AsString())
		}
	case "aws.s3.bucket":
		a.awsBucket = v.AsString()
	case "faas.invoked_name":
		a.awsFunction = v.AsString()
		return false
	case "aws.service":
		a.awsService = v.AsString()
	case "peer.service":
		a.peerService = v.AsString()
	case "aws.remote.service":
		a.remoteService = v.AsString()
	case "aws.local.service":
		a.localService = v.AsString()
	case "aws.span.kind":
		a.awsSpanKind = v.AsString()
	case "db.system", "db.system.name":
		a.dbSystem = v.AsString()
		return false
	case "db.name", "db.namespace":
		a.dbName = v.AsString()
		return false
	case "db.statement", "db.query.text":
		a.dbStatement = v.AsString()
	case "db.user":
		a.dbUser = v.AsString()
	case "db.connection_string":
		a.dbConnection = v.AsString()
	case "messaging.system":
		a.msgSystem = v.AsString()
		return false
	case "messaging.destination", "messaging.destination.name":
		a.msgDestination = v.AsString()
		return false
	case "enduser.id":
		a.user = v.AsString()
	case "aws.xray.annotations":
		if v.Type() == pcommon.ValueTypeSlice {
			s := v.Slice()
			for i := 0; i < s.Len(); i++ {
				if s.At(i).Type() == pcommon.ValueTypeStr {
					a.annotateAll = append(a.annotateAll, s.At(i).Str())
				}
			}
		}
	default:
		return false
	}
	return true
}

// intOf reads an integer attribute that some instrumentations send as a
// string or a double.
func intOf(v pcommon.Value) int64 {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int()
	case pcommon.ValueTypeDouble:
		return int64(v.Double())
	case pcommon.ValueTypeStr:
		n, _ := strconv.ParseInt(v.Str(), 10, 64)
		return n
	}
	return 0
}

// resourceAttrs holds the resource attributes the mapping uses.
type resourceAttrs struct {
	service, version                                 string
	cloudProvider, cloudPlatform, account, zone      string
	hostID, hostType, imageID                        string
	container, containerID, pod, cluster, launchType string
	sdkName, sdkLanguage, sdkVersion, autoVersion    string
}

func (r *resourceAttrs) read(m pcommon.Map) {
	for k, v := range m.All() {
		switch k {
		case "service.name":
			r.service = v.AsString()
		case "service.version":
			r.version = v.AsString()
		case "cloud.provider":
			r.cloudProvider = v.AsString()
		case "cloud.platform":
			r.cloudPlatform = v.AsString()
		case "cloud.account.id":
			r.account = v.AsString()
		case "cloud.availability_zone":
			r.zone = v.AsString()
		case "host.id":
			r.hostID = v.AsString()
		case "host.type":
			r.hostType = v.AsString()
		case "host.image.id":
			r.imageID = v.AsString()
		case "container.name":
			r.container = v.AsString()
		case "container.id":
			r.containerID = v.AsString()
		case "k8s.pod.name":
			r.pod = v.AsString()
		case "k8s.cluster.name":
			r.cluster = v.AsString()
		case "aws.ecs.launchtype":
			r.launchType = v.AsString()
		case "telemetry.sdk.name":
			r.sdkName = v.AsString()
		case "telemetry.sdk.language":
			r.sdkLanguage = v.AsString()
		case "telemetry.sdk.version":
			r.sdkVersion = v.AsString()
		case "telemetry.auto.version", "telemetry.distro.version":
			r.autoVersion = v.AsString()
		}
	}
}

// origin is the X-Ray origin (the service map node's type) for the
// resource's cloud platform, as the collector's exporter derives it.
func (r *resourceAttrs) origin() string {
	if r.cloudProvider != "" && r.cloudProvider != "aws" {
		return ""
	}
	switch r.cloudPlatform {
	case "aws_app_runner":
		return "AWS::AppRunner::Service"
	case "aws_eks":
		return "AWS::EKS::Container"
	case "aws_elastic_beanstalk":
		return "AWS::ElasticBeanstalk::Environment"
	case "aws_ecs":
		switch r.launchType {
		case "ec2":
			return "AWS::ECS::EC2"
		case "fargate":
			return "AWS::ECS::Fargate"
		}
		return "AWS::ECS::Container"
	case "aws_ec2":
		return "AWS::EC2::Instance"
	case "aws_lambda":
		return "AWS::Lambda::Function"
	}
	return ""
}
